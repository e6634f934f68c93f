#ifndef L2HMC_CHDF5_SHIM_H
#define L2HMC_CHDF5_SHIM_H
#include <hdf5.h>

/* HDF5's type, flag and property-list constants are macros over C globals that Swift cannot
   import; each is wrapped in a function here. */
static inline hid_t l2h_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t l2h_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t l2h_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t l2h_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t l2h_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t l2h_c_s1(void) { return H5T_C_S1; }
static inline hid_t l2h_p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t l2h_p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t l2h_p_default(void) { return H5P_DEFAULT; }
static inline hid_t l2h_s_all(void) { return H5S_ALL; }
static inline unsigned l2h_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned l2h_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned l2h_f_acc_excl(void) { return H5F_ACC_EXCL; }
#endif
