import ModelFormat

/// What the network mapping needs of a source container: a dataset's values as an array of its
/// own element type, checked (floating point, finite, within ``maxDatasetElements`` elements
/// before anything is allocated). Kernels are presented in the canonical (in, out) orientation:
/// a container that stores them transposed (PyTorch `nn.Linear.weight`, (out, in)) transposes
/// them exactly (``TensorFileSource``).
protocol WeightReader: AnyObject {
    var maxDatasetElements: Int { get }
    func array(_ d: SourceDataset) throws -> NDArray
}

extension SourceFile: WeightReader {}
