import ModelFormat

/// The version every tool prints for `--version`: the package's one version string.
public enum ToolVersion {
    public static var current: String { ModelFormatInfo.version }
}
