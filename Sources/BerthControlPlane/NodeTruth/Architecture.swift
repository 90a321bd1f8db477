/// A node's CPU architecture, as the kernel names it (`uname -m`).
public enum Architecture: String, Codable, CaseIterable, Equatable, Hashable, Sendable {
    case x86_64
    case aarch64
}
