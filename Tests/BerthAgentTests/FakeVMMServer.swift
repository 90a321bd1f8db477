import Foundation

@testable import BerthAgent

/// A VMM's REST API on a unix socket, answering as Cloud Hypervisor (`cloud-hypervisor.yaml`)
/// or Firecracker (`firecracker.yaml`) do: HTTP/1.1, 204 for a call that worked, 200 with JSON
/// for the info calls, a fault in the dialect's shape otherwise (Cloud Hypervisor: a JSON array
/// of messages; Firecracker: `{"fault_message": …}`). It keeps the VM's state (created, booted,
/// started) so calls out of order are refused as the real ones refuse them, and records every
/// request it gets.
final class FakeVMMServer: @unchecked Sendable {
    enum Dialect { case cloudHypervisor, firecracker }

    struct Request: Equatable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: VMMJSON?
        var line: String { "\(method) \(path)" }
    }

    let path: String
    let dialect: Dialect
    private let listener: Int32
    private let lock = NSLock()
    private var received: [Request] = []
    private var config: VMMJSON?
    private var booted = false
    private var bootSource = false
    /// The state reported once booted (`Paused` makes a VM that never runs).
    var runningState = "Running"
    /// Calls (`"PUT /machine-config"`) answered with this status and fault message instead.
    var faults: [String: (status: Int, message: String)] = [:]
    /// Accepts, reads, never answers.
    var silent = false
    /// Answers every request with these bytes verbatim.
    var rawAnswer: String?
    /// Called on `vmm.shutdown` (Cloud Hypervisor) or `SendCtrlAltDel` (Firecracker): the test
    /// ends its stand-in VMM process there, as the real one would exit.
    var onShutdown: @Sendable () -> Void = {}

    init(path: String, dialect: Dialect) throws {
        self.path = path
        self.dialect = dialect
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw UnixHTTPError.connect(path: path, reason: "bind") }
        Thread { [self] in self.serve() }.start()
    }

    var requests: [Request] { lock.withLock { received } }
    var lines: [String] { requests.map(\.line) }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            Thread { [self] in self.converse(connection) }.start()
        }
    }

    private func converse(_ connection: Int32) {
        defer { close(connection) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        func fill() -> Bool {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            buffer += chunk[..<count]
            return true
        }
        let separator = Array("\r\n\r\n".utf8)
        while true {
            var end: Int?
            while end == nil {
                end = (0..<max(0, buffer.count - 3)).first { Array(buffer[$0..<($0 + 4)]) == separator }
                if end == nil && !fill() { return }
            }
            let head = String(decoding: buffer[..<end!], as: UTF8.self).components(separatedBy: "\r\n")
            buffer.removeSubrange(..<(end! + 4))
            let parts = head[0].split(separator: " ")
            guard parts.count == 3 else { return }
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.count < length { if !fill() { return } }
            let bodyBytes = Array(buffer[..<length])
            buffer.removeSubrange(..<length)
            let request = Request(
                method: String(parts[0]), path: String(parts[1]), headers: headers,
                body: bodyBytes.isEmpty ? nil : VMMJSON.parse(bodyBytes))
            lock.withLock { received.append(request) }
            if silent {
                while fill() {}
                return
            }
            if let rawAnswer {
                _ = Array(rawAnswer.utf8).withUnsafeBytes {
                    send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                return
            }
            let (status, body, after) = answer(request)
            var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\nServer: fake VMM\r\n"
            if let body {
                text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            } else {
                text += "\r\n"
            }
            _ = Array(text.utf8).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            after()
        }
    }

    private static func reason(_ status: Int) -> String {
        [200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"][status]
            ?? "Internal Server Error"
    }

    private func fault(_ status: Int, _ messages: [String]) -> (Int, String?, () -> Void) {
        switch dialect {
        case .cloudHypervisor:
            return (status, String(decoding: VMMJSON.array(messages.map(VMMJSON.string)).encoded(), as: UTF8.self), {})
        case .firecracker:
            let body = VMMJSON.object(["fault_message": .string(messages.joined(separator: ": "))])
            return (status, String(decoding: body.encoded(), as: UTF8.self), {})
        }
    }

    private func answer(_ request: Request) -> (Int, String?, () -> Void) {
        if let injected = faults[request.line] { return fault(injected.status, [injected.message]) }
        return lock.withLock {
            switch dialect {
            case .cloudHypervisor: return cloudHypervisor(request)
            case .firecracker: return firecracker(request)
            }
        }
    }

    private func cloudHypervisor(_ request: Request) -> (Int, String?, () -> Void) {
        let notCreated = ["Error from API", "The VM is not created"]
        switch request.line {
        case "PUT /api/v1/vm.create":
            guard config == nil else {
                return fault(500, ["Error from API", "The VM could not be created", "The VM is already created"])
            }
            guard let body = request.body, body["payload"]?["kernel"] != nil else {
                return fault(400, ["Failed to deserialize JSON"])
            }
            config = body
            return (204, nil, {})
        case "PUT /api/v1/vm.boot":
            guard config != nil else { return fault(404, notCreated) }
            booted = true
            return (204, nil, {})
        case "GET /api/v1/vm.info":
            guard let config else { return fault(404, notCreated) }
            let info = VMMJSON.object([
                "config": config, "state": .string(booted ? runningState : "Created"),
                "memory_actual_size": config["memory"]?["size"] ?? .int(0),
            ])
            return (200, String(decoding: info.encoded(), as: UTF8.self), {})
        case "GET /api/v1/vmm.ping":
            return (200, #"{"build_version":"v40.0.0","version":"40.0.0","pid":1,"features":["kvm"]}"#, {})
        case "PUT /api/v1/vm.shutdown":
            guard config != nil else { return fault(404, notCreated) }
            booted = false
            runningState = "Shutdown"
            return (204, nil, {})
        case "PUT /api/v1/vmm.shutdown":
            return (204, nil, onShutdown)
        default:
            return fault(404, ["Not Found"])
        }
    }

    private func firecracker(_ request: Request) -> (Int, String?, () -> Void) {
        let afterStart = "The requested operation is not supported after starting the microVM."
        if request.method == "PUT" && request.path != "/actions" && booted { return fault(400, [afterStart]) }
        switch request.line {
        case "GET /":
            let info = VMMJSON.object([
                "id": .string("anonymous-instance"), "state": .string(booted ? runningState : "Not started"),
                "vmm_version": .string("1.7.0"), "app_name": .string("Firecracker"),
            ])
            return (200, String(decoding: info.encoded(), as: UTF8.self), {})
        case "PUT /logger":
            guard request.body?["log_path"]?.stringValue != nil else { return fault(400, ["missing field log_path"]) }
            return (204, nil, {})
        case "PUT /boot-source":
            guard request.body?["kernel_image_path"]?.stringValue != nil else {
                return fault(400, ["missing field `kernel_image_path`"])
            }
            bootSource = true
            return (204, nil, {})
        case "PUT /machine-config":
            guard case .int(let vcpus)? = request.body?["vcpu_count"], vcpus >= 1,
                request.body?["mem_size_mib"] != nil
            else { return fault(400, ["The vCPU number is invalid!"]) }
            return (204, nil, {})
        case "PUT /actions":
            switch request.body?["action_type"]?.stringValue {
            case "InstanceStart":
                guard bootSource else {
                    return fault(400, ["Cannot start microvm that was not configured: missing kernel configuration"])
                }
                booted = true
                return (204, nil, {})
            case "SendCtrlAltDel":
                guard booted else { return fault(400, ["The microVM is not started"]) }
                return (204, nil, onShutdown)
            default:
                return fault(400, ["unknown action"])
            }
        default:
            if request.method == "PUT", request.path.hasPrefix("/drives/") {
                let id = String(request.path.dropFirst("/drives/".count))
                guard request.body?["drive_id"]?.stringValue == id else {
                    return fault(400, ["The id from the path does not match the id from the body!"])
                }
                return (204, nil, {})
            }
            return fault(400, ["Invalid request method and/or path: \(request.method) \(request.path)"])
        }
    }
}

/// A stand-in for `cloud-hypervisor` or `firecracker`, as an executable script in `directory`:
/// it finds the API socket in its arguments (`--api-socket PATH` / `--api-sock PATH`), makes it a
/// link to `fakeSocket` (so the VMM's API "appears" where the agent asked for it; without a fake
/// socket it never does), then waits; SIGTERM makes it exit 0 (the trap is set first: the calls
/// can all be over before a loaded shell reaches its next line), as the real VMM exits after
/// `vmm.shutdown` or the guest's Ctrl-Alt-Del reboot.
func writeStubVMM(named name: String, in directory: String, linkingTo fakeSocket: String?, exitAtOnce: Bool = false)
    throws -> String
{
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/" + name
    let script = """
        #!/bin/sh
        trap 'kill $! 2>/dev/null; exit 0' TERM
        sock=""
        while [ $# -gt 0 ]; do
          case "$1" in
            --api-socket|--api-sock) sock="${2#path=}"; shift 2 ;;
            *) shift ;;
          esac
        done
        \(exitAtOnce ? "echo 'Error: /dev/kvm: No such file or directory' >&2; exit 1" : "")
        \(fakeSocket.map { "ln -s '\($0)' \"$sock\"" } ?? "")
        sleep 60 &
        wait $!

        """
    try writeExecutable(script, to: path)
    return path
}
