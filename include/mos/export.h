/* mos/export.h: the MOS_API visibility macro for public libmos functions.
 *
 * libmos is built with hidden visibility; only functions marked MOS_API are
 * exported, and tests/abi checks them against lib/libmos.sym.
 */
#ifndef MOS_EXPORT_H
#define MOS_EXPORT_H

#if defined(MOS_BUILDING_LIBRARY) && defined(__GNUC__)
#define MOS_API __attribute__((visibility("default")))
#else
#define MOS_API
#endif

#endif /* MOS_EXPORT_H */
