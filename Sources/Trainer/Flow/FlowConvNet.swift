import ModelFormat

/// The inner network of coupling layer `layer`: convolutions j = 0..H over the sites of every
/// chain, out_j[o](site) = b_j[o] + sum_{a,b<k} sum_c K_j[a,b,c,o] in_j[c](tap (a,b) of site)
/// (``FlowLattice/taps``: circular padding, a cross-correlation), `activation` after every
/// convolution except the last. Rows of every activation matrix are (chain r, site s) at
/// r * sites + s, columns are channels. Each convolution is an im2col matrix
/// [rows * sites, k^2 c_in] (columns (a k + b) c_in + c, the row-major flattening of the
/// stored [k, k, c_in, c_out] kernel) times the kernel as a [k^2 c_in, c_out] matrix. Weights
/// are read from the ``ParameterStore`` under `layer<i>.conv<j>.kernel|bias`.
struct FlowConvNet {
    let layer: Int
    let channels: [Int]
    let kernelSize: Int
    let activation: Activation

    /// What the backward pass needs: the input and every pre-activation and activation
    /// (the last entry of `pre` is the network's output; `post` has one entry fewer).
    struct Cache {
        let rows: Int
        let input: Matrix
        let pre: [Matrix]
        let post: [Matrix]
        var output: Matrix { pre[pre.count - 1] }
    }

    var convs: Int { channels.count - 1 }

    func forward(_ input: Matrix, lattice: FlowLattice, params store: ParameterStore) -> Cache {
        var pre: [Matrix] = [], post: [Matrix] = []
        var h = input
        for j in 0..<convs {
            let out = channels[j + 1]
            var a = im2col(h, lattice: lattice).times(store.values, offset: store.offset(FlowArchitecture.kernelName(layer: layer, conv: j)), outputs: out)
            let b = store.offset(FlowArchitecture.biasName(layer: layer, conv: j))
            for r in 0..<a.rows { for o in 0..<out { a.data[r * out + o] += store.values[b + o] } }
            pre.append(a)
            if j < convs - 1 {
                h = activation.apply(a)
                post.append(h)
            }
        }
        return Cache(rows: input.rows, input: input, pre: pre, post: post)
    }

    /// dL/d(input) for dL/d(output) `dOut`; the kernels' and biases' gradients are added to `grads`.
    func backward(_ c: Cache, dOut: Matrix, lattice: FlowLattice, params store: ParameterStore, grads: inout [Double]) -> Matrix {
        var da = dOut
        for j in stride(from: convs - 1, through: 0, by: -1) {
            let cin = channels[j], kOff = store.offset(FlowArchitecture.kernelName(layer: layer, conv: j))
            let col = im2col(j == 0 ? c.input : c.post[j - 1], lattice: lattice)
            col.accumulateWeightGradient(da, into: &grads, offset: kOff)
            da.accumulateColumnSums(into: &grads, offset: store.offset(FlowArchitecture.biasName(layer: layer, conv: j)))
            let dCol = da.timesTransposed(store.values, offset: kOff, inputs: kernelSize * kernelSize * cin)
            let dh = col2im(dCol, lattice: lattice, channels: cin)
            if j == 0 { return dh }
            da = activation.backward(dh, pre: c.pre[j - 1], post: c.post[j - 1])
        }
        return da
    }

    /// [rows * sites, c] to [rows * sites, k^2 c] (``PeriodicPatches``).
    private func im2col(_ h: Matrix, lattice: FlowLattice) -> Matrix {
        PeriodicPatches.im2col(h, taps: lattice.taps, sites: lattice.sites, tapCount: kernelSize * kernelSize)
    }

    /// The adjoint of ``im2col(_:lattice:)``.
    private func col2im(_ col: Matrix, lattice: FlowLattice, channels c: Int) -> Matrix {
        PeriodicPatches.col2im(col, taps: lattice.taps, sites: lattice.sites, tapCount: kernelSize * kernelSize, channels: c)
    }
}
