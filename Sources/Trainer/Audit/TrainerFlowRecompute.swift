import ModelFormat

/// The trainer's flow on given inputs, layer by layer, for checks across the two independent
/// implementations (Audit, golden tests): the state after every coupling layer, each layer's
/// logJ per chain and its inner network's raw output, then x = f(z), log|det J_f| and, with a
/// beta, the FT-HMC force dS~/dz, S~ = beta sum_P (1 - cos P(f(z))) - log|det J_f(z)|.
public enum TrainerFlowRecompute {
    public struct Layer: Sendable {
        public let layer: Int
        /// The state after this layer, [rows, n] (layout `mu_t_x`).
        public let x: [Double]
        /// This layer's log-Jacobian per chain.
        public let logJ: [Double]
        /// The inner network's output at every site, [rows, lt * lx, nMix + 1] (site t lx + x;
        /// channels s_0..s_{nMix-1}, t), non-active sites included.
        public let network: [Double]
    }

    public struct Result: Sendable {
        public let layers: [Layer]
        public let x: [Double]
        public let logDet: [Double]
        /// dS~/dz [rows, n] when a beta was given.
        public let force: [Double]?
    }

    /// `z` holds `rows` states of n = 2 lt lx angles each; lt and lx must be multiples of 4.
    public static func run(model: L2ZModel, z: [Double], rows: Int, lt: Int, lx: Int, beta: Double?) throws -> Result {
        let flow = try TrainableFlow(l2z: model)
        let lattice: FlowLattice
        do { lattice = try FlowLattice(lt: lt, lx: lx, kernelSize: flow.architecture.kernelSize) } catch {
            throw FlowTrainerError.model("lattice \(lt)x\(lx): both sides must be positive multiples of 4")
        }
        guard rows >= 0, z.count == rows * lattice.links else { throw FlowTrainerError.model("z has \(z.count) values, expected \(rows) x \(lattice.links)") }
        var x = Matrix(rows: rows, cols: lattice.links, data: z)
        var layers: [Layer] = []
        var total = [Double](repeating: 0, count: rows)
        for i in 0..<flow.architecture.layers {
            var logJ = [Double](repeating: 0, count: rows)
            let tape = flow.forwardLayer(i, &x, logDet: &logJ, lattice: lattice)
            for r in 0..<rows { total[r] += logJ[r] }
            layers.append(Layer(layer: i, x: x.data, logJ: logJ, network: tape.net.output.data))
        }
        let force = beta.map { flow.force(Matrix(rows: rows, cols: lattice.links, data: z), action: FlowGaugeAction(beta: $0, lattice: lattice)).data }
        return Result(layers: layers, x: x.data, logDet: total, force: force)
    }
}
