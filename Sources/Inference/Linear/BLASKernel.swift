import COpenBLAS
import Foundation

/// Which BLAS library and kernel set run the GEMMs, and whether that set is far below what the
/// CPU can do.
///
/// OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels from the CPU model at load time;
/// a CPU it does not recognise gets the generic `Prescott` (SSE3) kernels, 3-4x slower on a
/// machine with AVX2 or AVX-512, with no word to the user. The environment variable
/// `OPENBLAS_CORETYPE` (read when the library loads) selects a kernel set by name.
public struct BLASKernel: Sendable {
    /// `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64".
    public let configuration: String
    /// `openblas_get_corename()`, e.g. "Cooperlake", "Haswell", "Prescott".
    public let core: String
    /// The CPU's vector extensions that matter for GEMM ("avx2", "avx512f"), from /proc/cpuinfo.
    public let cpuFeatures: Set<String>

    /// OpenBLAS kernel sets with AVX2 (and FMA) GEMM kernels, and those with AVX-512 ones.
    static let avx2Cores: Set<String> = ["haswell", "zen", "excavator", "skylakex", "cooperlake", "sapphirerapids"]
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// The library and kernel set of this process (read once: OpenBLAS picks them when it loads).
    public static func current() -> BLASKernel { loaded }

    private static let loaded: BLASKernel = {
        let config = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return BLASKernel(configuration: config, core: core, cpuFeatures: cpuFeatures())
    }()

    public init(configuration: String, core: String, cpuFeatures: Set<String>) {
        self.configuration = configuration; self.core = core; self.cpuFeatures = cpuFeatures
    }

    /// One line for run headers: library, kernel, threads per GEMM.
    public var summary: String {
        let version = configuration.split(separator: " ").prefix(2).joined(separator: " ")
        return "\(version), \(core) kernels, \(BLAS.threads) thread(s) per GEMM"
    }

    /// A warning when the kernels in use lack the CPU's vector extensions, naming the fix; nil
    /// when the kernels match the CPU (or the CPU has neither AVX2 nor AVX-512).
    public var warning: String? {
        let c = core.lowercased()
        let suggestion: String
        if cpuFeatures.contains("avx512f") && !BLASKernel.avx2Cores.contains(c) {
            suggestion = "SkylakeX"
        } else if cpuFeatures.contains("avx2") && !BLASKernel.avx2Cores.contains(c) {
            suggestion = "Haswell"
        } else {
            return nil
        }
        let has = cpuFeatures.contains("avx512f") ? "AVX-512" : "AVX2"
        return "OpenBLAS runs its generic \(core) kernels on a CPU with \(has): every GEMM is several times slower than it could be. Set OPENBLAS_CORETYPE=\(suggestion) in the environment (docs/RUNTIME.md, \"BLAS kernels\")"
    }

    /// "avx2" and "avx512f" when the first processor's flags list them (Linux); empty elsewhere.
    static func cpuFeatures() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        let flags = Set(line.split(separator: " ").map(String.init))
        return flags.intersection(["avx2", "avx512f"])
    }
}
