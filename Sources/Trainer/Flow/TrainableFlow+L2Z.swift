import ModelFormat

extension TrainableFlow {
    /// The flow of a `.l2z` model of family `flow` (float32 arrays are widened exactly), with
    /// its parameters in the trainer's order, so training can continue from a converted or
    /// exported flow and the trainer can recompute what the runtime computes.
    public init(l2z model: L2ZModel) throws {
        let spec: FlowSpec
        do { spec = try model.spec.flow() } catch { throw FlowTrainerError.model("\(error)") }
        let a = FlowArchitecture(spec.coupling)
        var store = ParameterStore()
        let c = a.channels, k = a.kernelSize
        for i in 0..<a.layers {
            for j in 0..<(c.count - 1) {
                for (name, shape) in [(FlowArchitecture.kernelName(layer: i, conv: j), [k, k, c[j], c[j + 1]]),
                                      (FlowArchitecture.biasName(layer: i, conv: j), [c[j + 1]])] {
                    guard let array = model.arrays[name] else { throw FlowTrainerError.model("array \(name) is missing") }
                    guard array.shape == shape else { throw FlowTrainerError.model("array \(name) has shape \(array.shape), expected \(shape)") }
                    store.add(name, shape: shape, values: array.doubles())
                }
            }
        }
        self.init(architecture: a, params: store)
    }

    /// A flow with the given parameters (every `layer<i>.conv<j>` array of `architecture`).
    init(architecture: FlowArchitecture, params: ParameterStore) {
        self.architecture = architecture
        self.params = params
    }
}
