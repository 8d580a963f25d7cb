/* mos/mos.h: the umbrella header of libmos, the Mixture-of-Supernets library.
 *
 * libmos trains a weight-sharing Transformer supernet whose FFN layers mix
 * several expert matrices through an architecture router, searches it for the
 * most accurate subnetwork under a latency / size / FLOPs budget, specialises
 * ("routes") any subnetwork into a standalone dense model and serves it.
 *
 *     #include <mos/mos.h>
 *     #include <stdio.h>
 *
 *     int main(void) {
 *         printf("libmos %s (header %s)\n", mos_version_string(), MOS_VERSION_STRING);
 *         if (mos_version_number() / 100 != MOS_VERSION_NUMBER / 100)
 *             return 1;  // built against another minor release
 *         return 0;
 *     }
 *
 * Conventions (docs/api-conventions.md): every fallible function returns a
 * mos_status; outputs come first; objects from T **out are released with the
 * matching _destroy (destroying NULL is harmless); mos_last_error() names what
 * went wrong. Threading rules: docs/threading.md.
 */
#ifndef MOS_MOS_H
#define MOS_MOS_H

#include "mos/base.h"
#include "mos/bleu.h"
#include "mos/space.h"
#include "mos/arch.h"
#include "mos/supernet.h"
#include "mos/model.h"
#include "mos/train.h"
#include "mos/search.h"

#endif /* MOS_MOS_H */
