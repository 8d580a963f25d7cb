/* tests/fuzz/make_capi_seeds.c: writes the seed files of the checkpoint fuzz
 * target with the public C API: a tiny supernet (neuron routing, 2 experts),
 * the same with no routing, and the model routed from each at its largest and
 * smallest arch. Small on purpose (a few kB, no tokenizer) so that libFuzzer
 * mutates them quickly. tests/fuzz/make_corpus.py calls it and also keeps a
 * copy of each without its checksum, so mutations reach the readers behind
 * the checksum check.
 *
 * usage: make_capi_seeds OUT_DIR */
#include <stdio.h>
#include <string.h>

#include "mos/mos.h"

static const char *kSpace =
    "{\"format\":\"mos-space\",\"version\":1,\"name\":\"seed\",\"qkv_dim\":4,"
    "\"encoder\":{\"embed_dim\":[2,4],\"layers\":[1,2],\"ffn_dim\":[2,4],\"heads\":[1,2]},"
    "\"decoder\":{\"embed_dim\":[2,4],\"layers\":[1],\"ffn_dim\":[4],\"self_heads\":[2],"
    "\"cross_heads\":[1,2],\"cross_k\":[1]}}";

static int ok(mos_status s, const char *what) {
    if (s != MOS_OK) fprintf(stderr, "make_capi_seeds: %s: %s\n", what, mos_last_error());
    return s == MOS_OK;
}

static int write_set(const char *dir, const mos_space *space, mos_routing routing, unsigned experts,
                     const char *stem) {
    mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT;
    o.routing = routing;
    o.experts = experts;
    o.router_hidden = 2;
    o.vocab_size = 8;
    mos_supernet *net = NULL;
    mos_arch *big = NULL, *small = NULL;
    mos_model *mb = NULL, *ms = NULL;
    char path[4096];
    int good = ok(mos_supernet_create(&net, space, &o), "mos_supernet_create");
    snprintf(path, sizeof path, "%s/%s_supernet", dir, stem);
    good = good && ok(mos_supernet_save(net, path), path);
    good = good && ok(mos_arch_create_largest(&big, space), "largest");
    good = good && ok(mos_arch_create_smallest(&small, space), "smallest");
    good = good && ok(mos_route(&mb, net, big, NULL), "mos_route largest");
    good = good && ok(mos_route(&ms, net, small, NULL), "mos_route smallest");
    snprintf(path, sizeof path, "%s/%s_model_largest", dir, stem);
    good = good && ok(mos_model_save(mb, path), path);
    snprintf(path, sizeof path, "%s/%s_model_smallest", dir, stem);
    good = good && ok(mos_model_save(ms, path), path);
    mos_model_destroy(mb);
    mos_model_destroy(ms);
    mos_arch_destroy(big);
    mos_arch_destroy(small);
    mos_supernet_destroy(net);
    return good;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    mos_space *space = NULL;
    if (!ok(mos_space_create_json(&space, kSpace, strlen(kSpace)), "space")) return 1;
    const int good = write_set(argv[1], space, MOS_ROUTING_NEURON, 2, "neuron") &&
                     write_set(argv[1], space, MOS_ROUTING_NONE, 1, "none");
    mos_space_destroy(space);
    return good ? 0 : 1;
}
