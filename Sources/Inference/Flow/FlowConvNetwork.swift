import Foundation
import ModelFormat

/// The inner network of one coupling layer (docs/FORMAT.md 13.2, step 3) on a batch of chains:
/// circular k x k convolutions (cross-correlations) with the activation between them, evaluated
/// as one im2col and one DGEMM per convolution over all (chain, site) rows, and its reverse-mode
/// pass with respect to the input (not the weights: that is the trainer's job).
///
/// Data layout: rows r = chain * V + site (site = t * lx + x), channels contiguous: a [R, C]
/// row-major matrix. The kernel [k, k, c_in, c_out] is read as a [k k c_in, c_out] matrix whose
/// row (a k + b) c_in + c multiplies the input channel c at (t + a - k/2, x + b - k/2).
final class FlowConvNetwork {
    struct Convolution {
        let cIn: Int, cOut: Int
        /// [k k c_in, c_out] (read-only once built; shared by replicas).
        let kernel: Buffer
        /// [c_out, k k c_in], for the backward GEMM.
        let kernelTransposed: Buffer
        let bias: [Double]
    }

    /// The activations and scratch of one network evaluation (``forward(chains:)`` and the
    /// ``backward(chains:gradOut:gradInput:)`` that follows it). A flow's layers run one after
    /// another on one thread, so they share one workspace: memory does not grow with the depth.
    final class Workspace {
        /// Rows (chain, site) it holds.
        let capacityRows: Int
        /// Input of each convolution [R, c_in_j] (the first is the network input).
        let inputs: [Buffer]
        /// Pre-activation output of each convolution [R, c_out_j] (the last is the network output).
        let outputs: [Buffer]
        /// im2col scratch [R, k k max c] and the gradient scratch [R, max c] (two).
        let columns: Buffer, gradient: Buffer, gradientIn: Buffer

        init(convolutions: [Convolution], kernelSize: Int, rows: Int) {
            capacityRows = rows
            inputs = convolutions.map { Buffer(rows * $0.cIn) }
            outputs = convolutions.map { Buffer(rows * $0.cOut) }
            let widest = convolutions.map { max($0.cIn, $0.cOut) }.max() ?? 1
            columns = Buffer(rows * kernelSize * kernelSize * widest)
            gradient = Buffer(rows * widest); gradientIn = Buffer(rows * widest)
        }

        /// Bytes held, for memory estimates: per row, the inputs and outputs of every convolution,
        /// k^2 times the widest for im2col and twice the widest for gradients.
        static func bytesPerRow(convolutions: [(cIn: Int, cOut: Int)], kernelSize: Int) -> Int {
            let widest = convolutions.map { max($0.cIn, $0.cOut) }.max() ?? 1
            return 8 * (convolutions.reduce(0) { $0 + $1.cIn + $1.cOut } + (kernelSize * kernelSize + 2) * widest)
        }
    }

    let convolutions: [Convolution]
    let activation: Activation
    let kernelSize: Int
    let lt: Int, lx: Int
    /// Rows (chain, site) the workspace holds.
    var capacityRows: Int { workspace.capacityRows }
    let workspace: Workspace
    private var inputs: [Buffer] { workspace.inputs }
    private var outputs: [Buffer] { workspace.outputs }
    private var columns: Buffer { workspace.columns }
    private var gradient: Buffer { workspace.gradient }
    private var gradientIn: Buffer { workspace.gradientIn }
    /// For each site and each (a, b): the neighbouring site (t + a - k/2, x + b - k/2) mod the lattice.
    private let neighbours: [Int32]

    /// `workspace` nil: a new one for `capacity` chains; a shared one must hold `capacity` chains
    /// of this lattice and these convolutions.
    init(convolutions: [Convolution], activation: Activation, kernelSize: Int, lt: Int, lx: Int, capacity: Int, workspace shared: Workspace? = nil) {
        self.convolutions = convolutions; self.activation = activation; self.kernelSize = kernelSize
        self.lt = lt; self.lx = lx
        let rows = capacity * lt * lx
        precondition(shared.map { $0.capacityRows >= rows } ?? true)
        workspace = shared ?? Workspace(convolutions: convolutions, kernelSize: kernelSize, rows: rows)
        let r = kernelSize / 2
        var table: [Int32] = []
        table.reserveCapacity(lt * lx * kernelSize * kernelSize)
        for t in 0..<lt {
            for x in 0..<lx {
                for a in 0..<kernelSize {
                    for b in 0..<kernelSize {
                        let tt = ((t + a - r) % lt + lt) % lt, xx = ((x + b - r) % lx + lx) % lx
                        table.append(Int32(tt * lx + xx))
                    }
                }
            }
        }
        neighbours = table
    }

    /// The same network (shared weights) with the given workspace (nil: its own), for another
    /// thread.
    func replica(capacity: Int, workspace: Workspace? = nil) -> FlowConvNetwork {
        FlowConvNetwork(convolutions: convolutions, activation: activation, kernelSize: kernelSize, lt: lt, lx: lx, capacity: capacity, workspace: workspace)
    }

    /// The network input [R, 2] to fill before ``forward(rows:)``.
    var input: UnsafeMutablePointer<Double> { inputs[0].pointer }
    /// The network output [R, n_mix + 1] after ``forward(rows:)``.
    var output: UnsafePointer<Double> { UnsafePointer(outputs[outputs.count - 1].pointer) }

    /// Evaluates the network on `chains` chains (R = chains V rows) from ``input``.
    func forward(chains: Int) {
        let v = lt * lx, rows = chains * v
        precondition(rows <= capacityRows)
        let kk = kernelSize * kernelSize
        for (j, conv) in convolutions.enumerated() {
            let src = inputs[j].pointer, col = columns.pointer, width = kk * conv.cIn
            im2col(src, channels: conv.cIn, chains: chains, into: col)
            let out = outputs[j].pointer
            for r in 0..<rows { for o in 0..<conv.cOut { out[r * conv.cOut + o] = conv.bias[o] } }
            BLAS.gemm(m: rows, n: conv.cOut, k: width, a: col, lda: width, b: conv.kernel.pointer, ldb: conv.cOut, beta: 1, c: out, ldc: conv.cOut)
            if j + 1 < convolutions.count {
                let next = inputs[j + 1].pointer
                for i in 0..<(rows * conv.cOut) { next[i] = Self.activate(out[i], activation) }
            }
        }
    }

    /// Reverse mode after ``forward(chains:)``: given dL/d(output) [R, n_mix + 1] in `gradOut`,
    /// writes dL/d(input) [R, 2] into `gradInput`.
    func backward(chains: Int, gradOut: UnsafePointer<Double>, gradInput: UnsafeMutablePointer<Double>) {
        let v = lt * lx, rows = chains * v
        let kk = kernelSize * kernelSize
        let g = gradient.pointer
        let last = convolutions[convolutions.count - 1]
        g.update(from: gradOut, count: rows * last.cOut)
        for j in stride(from: convolutions.count - 1, through: 0, by: -1) {
            let conv = convolutions[j], width = kk * conv.cIn
            if j + 1 < convolutions.count {
                // g holds dL/d(activation output of conv j): multiply by the activation's slope.
                let pre = outputs[j].pointer
                for i in 0..<(rows * conv.cOut) { g[i] *= Self.slope(pre[i], activation) }
            }
            let col = columns.pointer
            BLAS.gemm(m: rows, n: width, k: conv.cOut, a: g, lda: conv.cOut, b: conv.kernelTransposed.pointer, ldb: width, beta: 0, c: col, ldc: width)
            let dest = j == 0 ? gradInput : gradientIn.pointer
            col2im(col, channels: conv.cIn, chains: chains, into: dest)
            if j > 0 { g.update(from: gradientIn.pointer, count: rows * conv.cIn) }
        }
    }

    /// col[(chain, site), (a k + b) C + c] = src[(chain, neighbour(site, a, b)), c].
    private func im2col(_ src: UnsafePointer<Double>, channels c: Int, chains: Int, into col: UnsafeMutablePointer<Double>) {
        let v = lt * lx, kk = kernelSize * kernelSize, width = kk * c
        neighbours.withUnsafeBufferPointer { nb in
            for chain in 0..<chains {
                let base = chain * v
                for site in 0..<v {
                    let row = col + (base + site) * width
                    for p in 0..<kk {
                        let from = src + (base + Int(nb[site * kk + p])) * c
                        for ch in 0..<c { row[p * c + ch] = from[ch] }
                    }
                }
            }
        }
    }

    /// The transpose of ``im2col(_:channels:chains:into:)``: dest[(chain, neighbour), c] += col[...].
    private func col2im(_ col: UnsafePointer<Double>, channels c: Int, chains: Int, into dest: UnsafeMutablePointer<Double>) {
        let v = lt * lx, kk = kernelSize * kernelSize, width = kk * c
        dest.update(repeating: 0, count: chains * v * c)
        neighbours.withUnsafeBufferPointer { nb in
            for chain in 0..<chains {
                let base = chain * v
                for site in 0..<v {
                    let row = col + (base + site) * width
                    for p in 0..<kk {
                        let to = dest + (base + Int(nb[site * kk + p])) * c
                        for ch in 0..<c { to[ch] += row[p * c + ch] }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func activate(_ z: Double, _ a: Activation) -> Double {
        switch a {
        case .relu: return z > 0 ? z : 0
        case .tanh: return Foundation.tanh(z)
        case .swish: return z / (1 + exp(-z))
        case .linear: return z
        case .leakyRelu: return z >= 0 ? z : Activation.leakyReluSlope * z
        }
    }

    /// The activation's derivative at the pre-activation z.
    @inline(__always)
    static func slope(_ z: Double, _ a: Activation) -> Double {
        switch a {
        case .relu: return z > 0 ? 1 : 0
        case .tanh: let t = Foundation.tanh(z); return 1 - t * t
        case .swish: let sg = 1 / (1 + exp(-z)); return sg * (1 + z * (1 - sg))
        case .linear: return 1
        case .leakyRelu: return z >= 0 ? 1 : Activation.leakyReluSlope
        }
    }
}
