import Foundation

/// The tiny guest of the QEMU tests, built by `scripts/build-test-guest.sh` into `.guest-cache/`
/// (a Debian cloud kernel and a busybox initramfs whose init prints `readyLine`).
enum TestGuest {
    static let readyLine = "BERTH-GUEST-READY"

    static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    static var qemu: String? {
        QEMUPaths.find("qemu-system-x86_64")
    }

    /// The cache directory with `vmlinuz` and `initrd.img`, or why it cannot be built here.
    static let built: Result<String, GuestUnavailable> = {
        guard qemu != nil else {
            return .failure(
                GuestUnavailable(reason: "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repository + "/scripts/build-test-guest.sh"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch { return .failure(GuestUnavailable(reason: "\(error)")) }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(GuestUnavailable(reason: String(decoding: err, as: UTF8.self)))
        }
        return .success(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }()

    static var available: Bool {
        if case .success = built { return true }
        return false
    }

    /// Copies the guest under `root` (`images/vmlinuz`, `images/initrd.img`).
    static func install(under root: String) throws {
        let cache = try built.get()
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        for name in ["vmlinuz", "initrd.img"] {
            try? FileManager.default.removeItem(atPath: root + "/images/" + name)
            try FileManager.default.copyItem(atPath: cache + "/" + name, toPath: root + "/images/" + name)
        }
    }
}

struct GuestUnavailable: Error, CustomStringConvertible {
    var reason: String
    var description: String { "the test guest cannot be built here: \(reason)" }
}

enum QEMUPaths {
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
