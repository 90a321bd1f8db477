/// What the `process` backend runs: an argument vector. On the wire `command` is either an array
/// (taken as is) or a string. A string is split on whitespace with no quoting rules, unless
/// `shell` is true, in which case it is handed whole to `/bin/sh -c`.
public struct WorkloadCommand: Equatable, Hashable, Sendable {
    /// The program and its arguments; never empty, and the program is never an empty string.
    public private(set) var argv: [String]
    /// Whether `argv` is `["/bin/sh", "-c", script]` built from a string with `shell: true`.
    public private(set) var shell: Bool

    /// An explicit argument vector.
    public init(argv: [String]) {
        self.argv = argv
        self.shell = false
    }

    /// A command string, split on whitespace or, with `shell`, run by `/bin/sh -c`.
    public init(string: String, shell: Bool = false) {
        if shell {
            self.argv = ["/bin/sh", "-c", string]
        } else {
            self.argv = string.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                .map(String.init)
        }
        self.shell = shell
    }

    /// The string given to the shell, when this is a shell command.
    public var script: String? {
        shell && argv.count == 3 ? argv[2] : nil
    }
}
