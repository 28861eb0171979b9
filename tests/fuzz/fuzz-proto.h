/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz-proto: the libFuzzer entry point of the codec fuzzer, also called by
 * the plain replay driver (replay.c).
 */
#ifndef HVVSS_FUZZ_PROTO_H
#define HVVSS_FUZZ_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Run one input through every codec entry point; aborts on a violation. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* HVVSS_FUZZ_PROTO_H */
