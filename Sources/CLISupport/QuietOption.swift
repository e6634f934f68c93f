import ArgumentParser

/// `-q` / `--quiet`, meaning the same on every tool: no progress output (no bar, no progress
/// lines); the settings, the result, warnings and errors still print.
public struct QuietOption: ParsableArguments {
    @Flag(name: [.short, .long], help: "No progress output (bar or lines); settings, result, warnings and errors still print.")
    public var quiet = false

    public init() {}
}
