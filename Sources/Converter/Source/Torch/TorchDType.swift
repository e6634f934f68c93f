import Foundation

/// The element type of a PyTorch typed storage, named by its class in the persistent id
/// (`torch.FloatStorage`, ...). Storage bytes are little-endian (the archive's `byteorder`).
public enum TorchDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// The dtype of `torch.<name>` (a global on ``PickleAllowlist/stateDict``), or nil.
    public init?(storageClass: String) {
        let table: [String: TorchDType] = [
            "torch.DoubleStorage": .f64, "torch.FloatStorage": .f32, "torch.HalfStorage": .f16,
            "torch.BFloat16Storage": .bf16, "torch.LongStorage": .i64, "torch.IntStorage": .i32,
            "torch.ShortStorage": .i16, "torch.CharStorage": .i8, "torch.ByteStorage": .u8, "torch.BoolStorage": .bool,
        ]
        guard let d = table[storageClass] else { return nil }
        self = d
    }

    public var itemSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Floating-point types, whose values ``TorchCheckpoint`` converts to Double (exactly: every
    /// F16, BF16 and F32 value is a Double).
    public var isFloatingPoint: Bool { [.f64, .f32, .f16, .bf16].contains(self) }

    /// Element `index` of little-endian `bytes` as a Double (floating-point types only; the
    /// caller has checked `(index + 1) * itemSize <= bytes.count`).
    func value(_ bytes: [UInt8], _ index: Int) -> Double {
        let o = index * itemSize
        var bits: UInt64 = 0
        for i in 0..<itemSize { bits |= UInt64(bytes[o + i]) << (8 * UInt64(i)) }
        switch self {
        case .f64: return Double(bitPattern: bits)
        case .f32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .bf16: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits) << 16))
        case .f16: return TorchDType.half(UInt16(truncatingIfNeeded: bits))
        default: return .nan
        }
    }

    /// IEEE binary16 to Double, exact (subnormals, infinities and NaN included).
    static func half(_ h: UInt16) -> Double {
        let sign: Double = h & 0x8000 != 0 ? -1 : 1
        let e = Int((h >> 10) & 0x1F), m = Double(h & 0x3FF)
        if e == 0 { return sign * m * 0x1p-24 }
        if e == 31 { return m == 0 ? sign * .infinity : .nan }
        return sign * (1 + m / 1024) * Double(sign: .plus, exponent: e - 15, significand: 1)
    }
}
