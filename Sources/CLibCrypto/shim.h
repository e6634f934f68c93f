#ifndef L2HMC_CLIBCRYPTO_SHIM_H
#define L2HMC_CLIBCRYPTO_SHIM_H
#include <openssl/sha.h>
#endif
