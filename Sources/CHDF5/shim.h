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
static inline unsigned l2h_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline hsize_t l2h_s_unlimited(void) { return H5S_UNLIMITED; }

/* ---- Added for HDF5Kit. ---- */
static inline hid_t l2h_e_default(void) { return H5E_DEFAULT; }
static inline size_t l2h_t_variable(void) { return H5T_VARIABLE; }
static inline hid_t l2h_p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t l2h_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t l2h_p_group_create(void) { return H5P_GROUP_CREATE; }
static inline unsigned l2h_f_obj_all(void) { return H5F_OBJ_ALL; }
/* Memory (native) types. */
static inline hid_t l2h_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t l2h_native_int16(void) { return H5T_NATIVE_INT16; }
static inline hid_t l2h_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t l2h_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t l2h_native_uint64(void) { return H5T_NATIVE_UINT64; }
/* File types: HDF5Kit always writes little-endian standard types. */
static inline hid_t l2h_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t l2h_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t l2h_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t l2h_std_i16le(void) { return H5T_STD_I16LE; }
static inline hid_t l2h_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t l2h_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t l2h_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t l2h_std_u16le(void) { return H5T_STD_U16LE; }
static inline hid_t l2h_std_u32le(void) { return H5T_STD_U32LE; }
static inline hid_t l2h_std_u64le(void) { return H5T_STD_U64LE; }

/* File locking that does not fail on file systems without locks (NFS, some FUSE mounts).
   H5Pset_file_locking exists from 1.10.7 and 1.12.1; older libraries keep their default. */
static inline herr_t l2h_set_lenient_file_locking(hid_t fapl) {
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || \
    (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 12 && H5_VERS_RELEASE >= 1) || \
    (H5_VERS_MAJOR == 1 && H5_VERS_MINOR >= 13) || H5_VERS_MAJOR >= 2
    return H5Pset_file_locking(fapl, 1, 1);
#else
    (void)fapl;
    return 0;
#endif
}

/* Recursive object visit, isolated from the H5Ovisit / H5O_info_t changes of HDF5 1.12.
   The callback receives each object's path relative to `loc` ("." for `loc` itself) and one of
   the L2H_OBJ_* kinds; a non-zero return stops the visit (negative: failure). */
enum { L2H_OBJ_GROUP = 0, L2H_OBJ_DATASET = 1, L2H_OBJ_DATATYPE = 2, L2H_OBJ_OTHER = 3 };
typedef int (*l2h_visit_fn)(const char *name, int kind, void *ctx);
typedef struct { l2h_visit_fn fn; void *ctx; } l2h_visit_state;

static inline int l2h_kind_of(H5O_type_t type) {
    switch (type) {
    case H5O_TYPE_GROUP: return L2H_OBJ_GROUP;
    case H5O_TYPE_DATASET: return L2H_OBJ_DATASET;
    case H5O_TYPE_NAMED_DATATYPE: return L2H_OBJ_DATATYPE;
    default: return L2H_OBJ_OTHER;
    }
}

#if H5_VERSION_GE(1, 12, 0)
static inline herr_t l2h_visit_op(hid_t obj, const char *name, const H5O_info2_t *info, void *op) {
    l2h_visit_state *state = (l2h_visit_state *)op;
    (void)obj;
    return (herr_t)state->fn(name, l2h_kind_of(info->type), state->ctx);
}
static inline herr_t l2h_visit(hid_t loc, l2h_visit_fn fn, void *ctx) {
    l2h_visit_state state = { fn, ctx };
    return H5Ovisit3(loc, H5_INDEX_NAME, H5_ITER_INC, l2h_visit_op, &state, H5O_INFO_BASIC);
}
#else
static inline herr_t l2h_visit_op(hid_t obj, const char *name, const H5O_info_t *info, void *op) {
    l2h_visit_state *state = (l2h_visit_state *)op;
    (void)obj;
    return (herr_t)state->fn(name, l2h_kind_of(info->type), state->ctx);
}
static inline herr_t l2h_visit(hid_t loc, l2h_visit_fn fn, void *ctx) {
    l2h_visit_state state = { fn, ctx };
    return H5Ovisit2(loc, H5_INDEX_NAME, H5_ITER_INC, l2h_visit_op, &state, H5O_INFO_BASIC);
}
#endif

/* Recursive link visit (every link of every group reachable through hard links; soft and external
   links are reported, never followed), isolated from the H5Lvisit / H5L_info_t changes of 1.12.
   The callback receives the link's path relative to `loc` and one of the L2H_LINK_* kinds. */
enum { L2H_LINK_HARD = 0, L2H_LINK_SOFT = 1, L2H_LINK_EXTERNAL = 2, L2H_LINK_OTHER = 3 };
typedef int (*l2h_link_fn)(const char *name, int kind, void *ctx);
typedef struct { l2h_link_fn fn; void *ctx; } l2h_link_state;

static inline int l2h_link_kind(H5L_type_t type) {
    switch (type) {
    case H5L_TYPE_HARD: return L2H_LINK_HARD;
    case H5L_TYPE_SOFT: return L2H_LINK_SOFT;
    case H5L_TYPE_EXTERNAL: return L2H_LINK_EXTERNAL;
    default: return L2H_LINK_OTHER;
    }
}

#if H5_VERSION_GE(1, 12, 0)
static inline herr_t l2h_link_op(hid_t group, const char *name, const H5L_info2_t *info, void *op) {
    l2h_link_state *state = (l2h_link_state *)op;
    (void)group;
    return (herr_t)state->fn(name, l2h_link_kind(info->type), state->ctx);
}
static inline herr_t l2h_visit_links(hid_t loc, l2h_link_fn fn, void *ctx) {
    l2h_link_state state = { fn, ctx };
    return H5Lvisit2(loc, H5_INDEX_NAME, H5_ITER_INC, l2h_link_op, &state);
}
#else
static inline herr_t l2h_link_op(hid_t group, const char *name, const H5L_info_t *info, void *op) {
    l2h_link_state *state = (l2h_link_state *)op;
    (void)group;
    return (herr_t)state->fn(name, l2h_link_kind(info->type), state->ctx);
}
static inline herr_t l2h_visit_links(hid_t loc, l2h_link_fn fn, void *ctx) {
    l2h_link_state state = { fn, ctx };
    return H5Lvisit(loc, H5_INDEX_NAME, H5_ITER_INC, l2h_link_op, &state);
}
#endif

/* Filter ids HDF5Kit reads (the library's own, always built in or zlib): everything else is refused. */
static inline int l2h_filter_deflate(void) { return H5Z_FILTER_DEFLATE; }
static inline int l2h_filter_shuffle(void) { return H5Z_FILTER_SHUFFLE; }
static inline int l2h_filter_fletcher32(void) { return H5Z_FILTER_FLETCHER32; }
static inline int l2h_layout_virtual(void) { return H5D_VIRTUAL; }
#endif
