import Foundation
import ModelFormat

/// `l2hmc-convert export MODEL.l2z OUT.safetensors --naming torch-2023`: a model's arrays under
/// the upstream PyTorch names (``TorchNaming``), so that a PyTorch user loads them with
/// `safetensors.torch.load_file` and `Dynamics.load_state_dict(..., strict=True)` of the upstream
/// code as of 2023-06 on (docs/CONVERT.md, "Export to safetensors").
///
/// Contract:
/// - Only models upstream's networks can compute are exported; anything else is refused with
///   `convert.export_unsupported` naming the manifest field: a U(1) target; no time input; x-net
///   input `cos_sin_blocks` with `before_trig`; v-net input `raw`; translation sign +1; NCP x
///   update; activation relu, tanh, swish or leaky_relu; batch norm only with epsilon 1e-5
///   (torch's BatchNorm1d default, not configurable upstream; the head-2022 Keras era used
///   1e-3); shared layout only with one x-network; a convolution stack (format 1.3) only in
///   upstream's form (every network, no activation after the first conv, pools only after the
///   3rd, 5th, ... conv, pool before activation, no 1x1 kernel). Its tensors go to upstream's
///   module indices and its config (filters, sizes, pool) to `l2hmc.conv_*` metadata.
/// - Every network tensor is written twice, under `networks.<net>` and `<net>` (upstream's
///   `Dynamics` registers both, and a strict load wants both). Kernels are written (out, in)
///   (transposed); coefficients as (1, D) (zeros for a `tanh` head, which is exp(0) = 1);
///   batch norm as weight, bias, running_mean, running_var and an I64 `num_batches_tracked` 0.
///   Arrays keep their element type (float32 or float64); no value is rounded.
/// - Links are permuted to upstream's `mu_t_x` order; the masks (not a tensor upstream) go to
///   the metadata in upstream's meaning (1 = kept by the first x update).
/// - Step sizes: upstream computes eps / (1 + eps) from the stored parameter p, so a model whose
///   step size e is stored raw is exported as p = e / (1 - e) (e < 1 required), a model stored
///   with `eps_over_one_plus_eps` as it is; written as F64 0-d tensors `xeps.{k}`, `veps.{k}`.
/// - ``ExportMetadata`` records every fact, so the file converts back with no option.
public enum TorchExport {
    public static let namings = [TorchNaming.name]

    /// The file's bytes (nothing is written).
    public static func encode(_ model: L2ZModel, sourceSHA256: String?) throws -> [UInt8] {
        let spec = try model.sampler
        func refuse(_ field: String, _ value: String, _ why: String) -> ConvertError {
            .exportUnsupported(field: field, value: value, reason: why)
        }
        guard case let .u1(lattice) = spec.target else {
            throw refuse("target.kind", "gaussian_mixture", "upstream's PyTorch L2HMC networks are for U(1) gauge fields")
        }
        let net = spec.network, dyn = spec.dynamics
        var convConfig: TorchConvStack.Config?
        if let stack = net.convStack { convConfig = try TorchConvStack.config(of: stack) }
        guard !net.timeInput else { throw refuse("network.time_input", "true", "upstream's PyTorch networks have no time input") }
        guard net.xNetInput == .cosSinBlocks, net.maskPlacement == .beforeTrig else {
            throw refuse("network.x_net_input", "\(net.xNetInput.rawValue)\(net.maskPlacement.map { ", \($0.rawValue)" } ?? "")", "upstream feeds x-networks cos/sin blocks of the masked angles (cos_sin_blocks, before_trig)")
        }
        guard net.vNetInput == .raw else { throw refuse("network.v_net_input", net.vNetInput.rawValue, "upstream feeds v-networks the raw angles") }
        guard dyn.translationSign == .plus else { throw refuse("dynamics.translation_sign", "-1", "upstream adds T with the force (+1)") }
        guard dyn.xUpdate == .ncp else { throw refuse("dynamics.x_update", dyn.xUpdate.rawValue, "upstream's U(1) x update is NCP") }
        guard ["relu", "tanh", "swish", "leaky_relu"].contains(net.activation.rawValue) else {
            throw refuse("network.activation", net.activation.rawValue, "upstream's activations are relu, tanh, swish (SiLU), leaky_relu and elu")
        }
        if let bn = net.batchNorm, bn.epsilon != 1e-5 {
            throw refuse("network.batch_norm.epsilon", "\(bn.epsilon)", "upstream's BatchNorm1d uses eps 1e-5, which its config cannot change")
        }
        if net.layout == .shared && net.xNetworksPerStep != 1 {
            throw refuse("network.x_networks_per_step", "2", "upstream's shared layout has one x-network for both halves")
        }
        let n = spec.stateSize
        let perm = LinkPermutation.permutation(lt: lattice.lt, lx: lattice.lx, from: lattice.linkLayout, to: .muTX)
        let arrays = lattice.linkLayout == .muTX ? model.arrays : try LinkPermutation.apply(model.arrays, spec: spec, perm: perm)

        var tensors: [SafetensorsWriter.Tensor] = []
        func add(_ key: String, _ dtype: DType, _ shape: [Int], _ values: [Double]) {
            let bytes = Self.bytes(values, dtype: dtype)
            let name = dtype == .float64 ? "F64" : "F32"
            tensors.append(SafetensorsWriter.Tensor(name: "networks." + key, dtype: name, shape: shape, bytes: bytes))
            tensors.append(SafetensorsWriter.Tensor(name: key, dtype: name, shape: shape, bytes: bytes))
        }
        for network in SamplerRules.networkNames(spec) {
            let parts = network.split(separator: ".").map(String.init)
            guard parts.count == 2, let kind = NetworkKind(rawValue: parts[0]), let k = Int(parts[1]) else { continue }
            let step: Int? = net.layout == .shared ? nil : k
            func key(_ role: LayerRole, _ variable: String) throws -> String {
                guard let key = TorchNaming.key(for: WeightRef(net: kind, step: step, layer: role, variable: variable), layout: net.layout) else {
                    throw refuse("arrays", "\(network).\(role.canonicalName).\(variable)", "no PyTorch name")
                }
                return key
            }
            func array(_ suffix: String) throws -> NDArray {
                guard let a = arrays["\(network).\(suffix)"] else { throw ConvertError.missingArray(canonical: "\(network).\(suffix)", expectedSource: "the model") }
                return a
            }
            // A canonical dense layer [in, out] as a torch Linear (weight (out, in)) under the given keys.
            func linearAs(_ layer: String, weight weightKey: String, bias biasKey: String) throws {
                let w = try array("\(layer).kernel"), b = try array("\(layer).bias")
                let (rows, cols) = (w.shape[0], w.shape[1])
                let v = w.doubles()
                var t = [Double](repeating: 0, count: v.count)
                for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = v[r * cols + c] } }
                add(weightKey, w.dtype, [cols, rows], t)
                add(biasKey, b.dtype, b.shape, b.doubles())
            }
            func linear(_ role: LayerRole, _ layer: String) throws {
                try linearAs(layer, weight: try key(role, "kernel"), bias: try key(role, "bias"))
            }
            if let stack = net.convStack, let config = convConfig, case let .u1(l) = spec.target {
                // upstream's module indices; weights (out, in, k, k) and the Linear (D, F).
                let prefix = try key(.xLayer, "kernel").replacingOccurrences(of: ".input_layer.xlayer.weight", with: ".input_layer.conv_stack.layers.")
                let indices = TorchConvStack.indices(count: config.filters.count)
                let encoding = kind == .v ? net.vNetInput : net.xNetInput
                let channels = ConvStackRules.inputChannels(width: encoding.width(stateSize: n), lt: l.lt, lx: l.lx)
                let shapes = try ConvStackRules.shapes(stack, channels: channels, lt: l.lt, lx: l.lx)
                for (j, s) in shapes.enumerated() {
                    let w = try array("conv_stack.conv\(j).kernel"), b = try array("conv_stack.conv\(j).bias")
                    let k = s.kernelSize, cin = s.inChannels, cout = s.outChannels
                    let v = w.doubles()
                    var t = [Double](repeating: 0, count: v.count)
                    for o in 0..<cout { for c in 0..<cin { for a in 0..<k { for bb in 0..<k {
                        t[((o * cin + c) * k + a) * k + bb] = v[((a * k + bb) * cin + c) * cout + o]
                    } } } }
                    add("\(prefix)\(indices.convs[j]).weight", w.dtype, [cout, cin, k, k], t)
                    add("\(prefix)\(indices.convs[j]).bias", b.dtype, b.shape, b.doubles())
                }
                try linearAs("conv_stack.dense", weight: "\(prefix)\(indices.dense).weight", bias: "\(prefix)\(indices.dense).bias")
            }
            try linear(.xLayer, "x_layer")
            try linear(.vLayer, "v_layer")
            // Canonical hidden<i> (i >= 1) follows the input layer: torch hidden_layers.{i-1}.
            for i in stride(from: 1, to: net.hiddenUnits.count, by: 1) { try linear(.hidden(i), "hidden\(i)") }
            if net.batchNorm != nil {
                for variable in ["gamma", "beta", "moving_mean", "moving_variance"] {
                    let a = try array("batch_norm.\(variable)")
                    add(try key(.batchNorm, variable), a.dtype, a.shape, a.doubles())
                }
                let counter = try key(.batchNorm, "gamma").replacingOccurrences(of: ".weight", with: ".num_batches_tracked")
                let zero = [UInt8](repeating: 0, count: 8)
                tensors.append(SafetensorsWriter.Tensor(name: "networks." + counter, dtype: "I64", shape: [], bytes: zero))
                tensors.append(SafetensorsWriter.Tensor(name: counter, dtype: "I64", shape: [], bytes: zero))
            }
            for (role, layer, head) in [(LayerRole.scale, "scale", net.scaleHead), (.translation, "translation", nil), (.transformation, "transformation", net.transformationHead)] {
                try linear(role, layer)
                guard let head else { continue }
                if head == .tanhExpCoeff {
                    let c = try array("\(layer).coeff")
                    add(try key(role, "coeff"), c.dtype, [1, n], c.doubles())
                } else {
                    add(try key(role, "coeff"), .float32, [1, n], [Double](repeating: 0, count: n))
                }
            }
        }
        // Step sizes as upstream's parameters (it uses p / (1 + p)).
        for (name, torchName, parametrization) in [("eps_x", "xeps", dyn.epsXParametrization), ("eps_v", "veps", dyn.epsVParametrization)] {
            guard let a = arrays[name] else { throw ConvertError.missingArray(canonical: name, expectedSource: "the model") }
            for (k, stored) in a.doubles().enumerated() {
                let p: Double
                switch parametrization {
                case .epsOverOnePlusEps: p = stored
                case .raw:
                    guard stored < 1 else {
                        throw refuse(name, "\(stored)", "upstream uses p / (1 + p) < 1 as the step size; a step size >= 1 has no parameter p")
                    }
                    p = stored / (1 - stored)
                }
                tensors.append(SafetensorsWriter.Tensor(name: "\(torchName).\(k)", dtype: "F64", shape: [], bytes: Self.bytes([p], dtype: .float64)))
            }
        }
        // Metadata: every fact, in upstream's terms.
        guard let masks = arrays["masks"] else { throw ConvertError.missingArray(canonical: "masks", expectedSource: "the model") }
        let m = masks.doubles()
        let rows = (0..<dyn.nLF).map { k in String((0..<n).map { m[k * n + $0] == 1 ? Character("0") : Character("1") }) }
        let w = spec.netWeights
        var meta: [String: String] = [
            "format": "pt",
            "l2hmc.naming": TorchNaming.name,
            "l2hmc.producer": "l2hmc-convert \(ModelFormatInfo.version)",
            "l2hmc.note": "upstream PyTorch L2HMC state dict (networks.* and direct aliases); masks are upstream's (1 = kept by the first x update), links (mu, t, x)",
            "l2hmc.lattice": "\(lattice.lt)x\(lattice.lx)",
            "l2hmc.beta": "\(lattice.beta)",
            "l2hmc.link_layout": LinkLayout.muTX.rawValue,
            "l2hmc.n_lf": "\(dyn.nLF)",
            "l2hmc.eps_x_parametrization": StepSizeParametrization.epsOverOnePlusEps.rawValue,
            "l2hmc.eps_v_parametrization": StepSizeParametrization.epsOverOnePlusEps.rawValue,
            "l2hmc.translation_sign": "+1",
            "l2hmc.x_update": dyn.xUpdate.rawValue,
            "l2hmc.x_net_input": net.xNetInput.rawValue,
            "l2hmc.mask_placement": MaskPlacement.beforeTrig.rawValue,
            "l2hmc.v_net_input": net.vNetInput.rawValue,
            "l2hmc.time_input": "false",
            "l2hmc.activation": net.activation.rawValue,
            "l2hmc.layout": net.layout.rawValue,
            "l2hmc.x_networks_per_step": "\(net.xNetworksPerStep)",
            "l2hmc.hidden_units": net.hiddenUnits.map(String.init).joined(separator: ","),
            "l2hmc.net_weights": [w.xScale, w.xTranslation, w.xTransformation, w.vScale, w.vTranslation, w.vTransformation].map { "\($0)" }.joined(separator: ","),
            "l2hmc.mask_meaning": MaskMeaning.keptFirst.rawValue,
            "l2hmc.head_coefficient": HeadCoefficient.exp.rawValue,
            "l2hmc.masks": rows.joined(separator: ";"),
        ]
        if let bn = net.batchNorm { meta["l2hmc.batch_norm_epsilon"] = "\(bn.epsilon)" }
        if let c = convConfig {
            for (key, values) in zip(ExportMetadata.convKeys, [c.filters, c.sizes, c.pool]) { meta[key] = values.map(String.init).joined(separator: ",") }
        }
        if let sourceSHA256 { meta["l2hmc.source_sha256"] = sourceSHA256 }
        return try SafetensorsWriter.encode(tensors, metadata: meta)
    }

    /// Reads, exports and writes atomically (an existing file only with `force`).
    public static func export(modelPath: String, to path: String, naming: String, force: Bool) throws {
        guard namings.contains(naming) else {
            throw ConvertError.invalidFact(fact: "naming", value: naming, expected: "one of \(namings.joined(separator: ", "))")
        }
        let bytes = try AtomicFile.read(modelPath, limit: Int.max)
        let model = try L2ZReader.read(bytes: bytes).model
        let out = try encode(model, sourceSHA256: SHA256Digest.hex(bytes))
        try AtomicFile.write(out, to: path, replaceExisting: force)
    }

    static func bytes(_ values: [Double], dtype: DType) -> [UInt8] {
        var out: [UInt8] = []
        if dtype == .float64 {
            out.reserveCapacity(values.count * 8)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        } else {
            out.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { out += $0 } }
        }
        return out
    }
}
