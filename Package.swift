// swift-tools-version:6.0
import PackageDescription

/// l2hmc-swift: a weight-portable inference engine, trainer and converter for L2HMC samplers.
///
/// Dependency direction (see docs/FORMAT.md and README):
/// ModelFormat is a leaf; Inference and Trainer depend on it and never on each other. Audit (the
/// trainer-versus-runtime comparison, crossval, the numerical Jacobian, the runtime benchmark) is
/// the one library that sees both.
let package = Package(
    name: "l2hmc-swift",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "ModelFormat", targets: ["ModelFormat"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Trainer", targets: ["Trainer"]),
        .library(name: "Audit", targets: ["Audit"]),
        .executable(name: "l2hmc-run", targets: ["l2hmc-run"]),
        .executable(name: "l2hmc-convert", targets: ["l2hmc-convert"]),
        .executable(name: "l2hmc-train", targets: ["l2hmc-train"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML: the hydra `config.yaml` of an upstream PyTorch run, read by the converter only.
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: libzip-dev, libopenblas-dev,
        // libhdf5-dev, libssl-dev). Each has a module map and one shim header.
        .systemLibrary(name: "CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Open MPI (Debian: libopenmpi-dev, openmpi-bin for mpirun); CMPIShim returns the handles
        // Open MPI defines as macros (MPI_COMM_WORLD, MPI_BYTE, MPI_MAX, ...), which Swift cannot import.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "CMPIShim", dependencies: ["CMPI"]),

        // SIMD elementwise kernels of the runtime (our own vectorized exp/tanh/sincos/atan2/log,
        // fused updates). Plain C, no system package, no flags: the AVX2 and AVX-512 variants
        // carry target attributes and are chosen at run time.
        .target(name: "CL2HMCKernels", linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        // renameat2 (no-replace and exchange renames) for outputs that are never clobbered.
        .target(name: "CFileSystem"),
        // Philox4x32-10 counter-based random numbers shared by the runtime and the trainer (a
        // leaf: random numbers only, none of the sampler's mathematics).
        .target(name: "CounterRandom"),

        .target(name: "ModelFormat", dependencies: ["CZip", "CLibCrypto", "CFileSystem"]),
        .target(name: "Inference", dependencies: ["ModelFormat", "COpenBLAS", "CL2HMCKernels", "CounterRandom"]),
        .target(name: "Trainer", dependencies: ["ModelFormat", "COpenBLAS", "HDF5Kit", "CounterRandom", "CFileSystem"]),
        // Audits across the two independent paths: the documented tolerance table, the path
        // comparison, crossval and its verdicts, the numerical Jacobian, the runtime benchmark.
        .target(name: "Audit", dependencies: ["ModelFormat", "Inference", "Trainer"]),
        .target(name: "HDF5Kit", dependencies: ["CHDF5", "ModelFormat"]),
        // Self-contained HTML reports (inline SVG plots of our own, no script) of run directories.
        .target(name: "HTMLReport", dependencies: ["ModelFormat"]),
        // The run report: the pages of HTMLReport filled from a run directory, with exact values.
        .target(name: "RunHTMLReport", dependencies: ["HTMLReport", "Inference", "ModelFormat"]),
        // Saved ensembles of U(1) runs (`--save-configs`, `l2hmc-run measure`): the ensemble.h5
        // layout, its writer and reader, and the observables recomputed from it.
        .target(name: "Ensemble", dependencies: ["HDF5Kit", "Inference", "ModelFormat"]),
        // Checkpoint conversion (HDF5: our trainer's ckpt.h5 and Keras files) into .l2z models;
        // reads our ckpt.h5 through its documented layout, never through Trainer.
        .target(name: "Converter", dependencies: ["ModelFormat", "HDF5Kit", "Inference", "CZip", .product(name: "Yams", package: "Yams")]),

        // Processes of a run: a single process, or the ranks of an `mpirun` launch (MPI is
        // initialised only then). A leaf besides Open MPI. See docs/DISTRIBUTED.md.
        .target(name: "DistributedKit", dependencies: ["CMPI", "CMPIShim"]),

        // What the three tools share: the error-to-exit policy, SIGINT/SIGTERM, argument types.
        .target(name: "CLISupport", dependencies: ["ModelFormat", "CFileSystem", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        .executableTarget(
            name: "l2hmc-run",
            dependencies: ["Audit", "Inference", "Ensemble", "ModelFormat", "CLISupport", "DistributedKit", "HTMLReport", "RunHTMLReport",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "l2hmc-train",
            dependencies: ["Trainer", "ModelFormat", "COpenBLAS", "CLISupport", "DistributedKit", "HTMLReport",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "l2hmc-convert",
            dependencies: ["ModelFormat", "Inference", "Converter", "CLISupport",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Exercises DistributedKit alone or under mpirun (run by DistributedKitTests; not a product).
        .executableTarget(name: "l2hmc-mpi-selftest", dependencies: ["DistributedKit"]),

        .testTarget(name: "ModelFormatTests", dependencies: ["ModelFormat"]),
        .testTarget(name: "CounterRandomTests", dependencies: ["CounterRandom"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "ModelFormat", "Audit"]),   // Audit: the one numerical Jacobian
        .testTarget(name: "TrainerTests", dependencies: ["Trainer", "ModelFormat", "CounterRandom"]),
        .testTarget(name: "GoldenTests", dependencies: ["ModelFormat", "Inference", "Trainer", "Audit"], exclude: ["Goldens"]),
        .testTarget(name: "AuditTests", dependencies: ["Audit"]),
        .testTarget(name: "HTMLReportTests", dependencies: ["HTMLReport", "ModelFormat"]),
        .testTarget(name: "CLITests", dependencies: ["ModelFormat", "Trainer", "CLISupport"], exclude: ["Goldens"]),   // Trainer: the config-key table the flags come from; CLISupport: the error policy
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit"]),
        .testTarget(name: "EnsembleTests", dependencies: ["Ensemble", "HDF5Kit", "Inference", "ModelFormat"]),
        .testTarget(name: "ConverterTests", dependencies: ["Converter", "ModelFormat", "Inference", "HDF5Kit", "Trainer"]),
        .testTarget(name: "DistributedKitTests", dependencies: ["DistributedKit", "CMPI"]),
    ],
    swiftLanguageModes: [.v5]
)
