import BerthServer
import Foundation
import Testing
import Yams

/// Issue 12: the files under deploy/ are checked by the tools users run them with where this
/// machine has them (systemd-analyze; HAProxy in LoadBalancerTests), and otherwise parsed and
/// checked for the fields that must agree with the server's flags.
@Suite("deploy files")
struct DeployFilesTests {
    // MARK: - systemd

    static let systemdAnalyze: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test(
        "systemd units pass systemd-analyze verify, with the built berth as ExecStart",
        .enabled(
            if: systemdAnalyze != nil,
            "systemd-analyze is not installed (Debian/Ubuntu: apt-get install systemd); .ci/run installs it")
    )
    func systemdVerify() throws {
        let directory = NSTemporaryDirectory() + "berth-units-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // verify checks that ExecStart's binary exists; the units name where it is installed.
        let binary = try BerthBinary.path()
        var copies: [String] = []
        for name in ["berth-server.service", "berth-agent.service"] {
            let text = try String(contentsOfFile: try HAProxyFront.deployFile("systemd/\(name)"), encoding: .utf8)
            #expect(text.contains("/usr/local/bin/berth "), "\(name) does not run /usr/local/bin/berth")
            let copy = "\(directory)/\(name)"
            try text.replacingOccurrences(of: "/usr/local/bin/berth ", with: "\(binary) ")
                .write(toFile: copy, atomically: true, encoding: .utf8)
            copies.append(copy)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.systemdAnalyze!)
        process.arguments = ["verify"] + copies
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "systemd-analyze verify:\n\(text)")
        // Warnings (an unknown key, a key in the wrong section) do not fail verify: any line
        // about our units does.
        let ours = text.split(separator: "\n").filter { $0.contains("berth-server") || $0.contains("berth-agent") }
        #expect(ours.isEmpty, "systemd-analyze verify:\n\(ours.joined(separator: "\n"))")
    }

    @Test("systemd units: hardening, Restart=on-failure, and a stop timeout above the SIGTERM hand-off")
    func systemdSettings() throws {
        for name in ["berth-server.service", "berth-agent.service"] {
            let unit = try Self.unit(try HAProxyFront.deployFile("systemd/\(name)"))
            let service = unit["Service"] ?? [:]
            for (key, value) in [
                ("Restart", "on-failure"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                ("PrivateTmp", "yes"), ("KillSignal", "SIGTERM"),
            ] {
                #expect(service[key]?.last == value, "\(name): \(key)=\(service[key] ?? [])")
            }
            let stop = service["TimeoutStopSec"]?.last.flatMap { Int($0.replacingOccurrences(of: "s", with: "")) }
            #expect((stop ?? 0) >= 30, "\(name): TimeoutStopSec=\(service["TimeoutStopSec"] ?? [])")
            // The only writable path is where the data directory is.
            let state = try #require(service["StateDirectory"]?.last, "\(name): no StateDirectory")
            #expect(service["ReadWritePaths"]?.last == "/var/lib/\(state)", "\(name)")
        }
        let server = try Self.unit(try HAProxyFront.deployFile("systemd/berth-server.service"))["Service"] ?? [:]
        let command = try #require(server["ExecStart"]?.last)
        #expect(command.contains("--data-dir /var/lib/berth"), "\(command)")
        // A write's commit deadline and an agent's longest long poll both end before the timeout.
        let stop = Int(server["TimeoutStopSec"]?.last?.replacingOccurrences(of: "s", with: "") ?? "") ?? 0
        #expect(stop > 30 + 5, "TimeoutStopSec=\(stop)")
        for key in ["ProtectHome", "PrivateDevices", "CapabilityBoundingSet", "RestrictAddressFamilies"] {
            #expect(server[key] != nil, "berth-server.service sets no \(key)")
        }
        let agent = try Self.unit(try HAProxyFront.deployFile("systemd/berth-agent.service"))["Service"] ?? [:]
        let agentCommand = try #require(agent["ExecStart"]?.last)
        for flag in ["agent", "--servers", "--node-id", "--root /var/lib/berth-agent"] {
            #expect(agentCommand.contains(flag), "\(agentCommand)")
        }
    }

    /// Sections of a unit file: key → every value it was given, in order.
    static func unit(_ path: String) throws -> [String: [String: [String]]] {
        var sections: [String: [String: [String]]] = [:]
        var current = ""
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                current = String(line.dropFirst().dropLast())
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            sections[current, default: [:]][String(line[..<equals]), default: []].append(
                String(line[line.index(after: equals)...]))
        }
        return sections
    }

    // MARK: - Kubernetes

    /// Every document of every deploy/kubernetes/*.yaml.
    static func kubernetesDocuments() throws -> [[String: Any]] {
        let directory = URL(fileURLWithPath: try HAProxyFront.deployFile("kubernetes/statefulset.yaml"))
            .deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        var documents: [[String: Any]] = []
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for document in try Yams.load_all(yaml: text) {
                guard let document = document as? [String: Any] else { continue }
                #expect(document["apiVersion"] is String && document["kind"] is String, "\(file)")
                documents.append(document)
            }
        }
        return documents
    }

    @Test(
        "Kubernetes: StatefulSet of 3 with ids from the ordinal, peers from the headless Service, data on the volume, probes, PDB, draining preStop"
    )
    func kubernetes() throws {
        let documents = try Self.kubernetesDocuments()
        func all(_ kind: String) -> [[String: Any]] { documents.filter { $0["kind"] as? String == kind } }
        let statefulSet = try #require(all("StatefulSet").first)
        let spec = try #require(statefulSet["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 3)
        #expect(spec["podManagementPolicy"] as? String == "Parallel", "OrderedReady never forms a cluster")
        let setName = try #require((statefulSet["metadata"] as? [String: Any])?["name"] as? String)
        let podLabels = try #require(
            ((spec["template"] as? [String: Any])?["metadata"] as? [String: Any])?["labels"] as? [String: String])
        let selector = (spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String]
        #expect(selector == podLabels)

        // Services: a headless one for peers (named by serviceName), a client one.
        let services = all("Service")
        let headlessName = try #require(spec["serviceName"] as? String)
        let headless = try #require(services.first { Self.name($0) == headlessName }, "no Service \(headlessName)")
        let headlessSpec = try #require(headless["spec"] as? [String: Any])
        #expect(headlessSpec["clusterIP"] as? String == "None")
        #expect(headlessSpec["publishNotReadyAddresses"] as? Bool == true, "peers must resolve before ready")
        let client = try #require(services.first { Self.name($0) != headlessName }, "no client Service")
        let clientSpec = try #require(client["spec"] as? [String: Any])
        #expect(clientSpec["clusterIP"] as? String != "None")
        for service in services {
            #expect((service["spec"] as? [String: Any])?["selector"] as? [String: String] == podLabels)
        }

        // The container: ports, environment, node id.
        let podSpec = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        var ports: [String: Int] = [:]
        for port in container["ports"] as? [[String: Any]] ?? [] {
            ports[port["name"] as? String ?? ""] = port["containerPort"] as? Int
        }
        let peerPort = try #require(ports["peer"])
        let httpPort = try #require(ports["http"])
        var environment: [String: String] = [:]
        for variable in container["env"] as? [[String: Any]] ?? [] {
            if let value = variable["value"] as? String { environment[variable["name"] as! String] = value }
        }
        let fqdn = "$(POD_NAME).\(headlessName).$(POD_NAMESPACE).svc.cluster.local"
        #expect(environment["BERTH_PEER_LISTEN"] == "\(fqdn):\(peerPort)")
        #expect(environment["BERTH_HTTP_LISTEN"] == "\(fqdn):\(httpPort)")
        let peers = try ServerConfig.parsePeers(try #require(environment["BERTH_PEERS"]))
        #expect(peers.keys.sorted() == [1, 2, 3])
        for (id, address) in peers {
            #expect(
                address
                    == HostPort(
                        host: "\(setName)-\(id - 1).\(headlessName).$(POD_NAMESPACE).svc.cluster.local",
                        port: peerPort), "peer \(id): \(address)")
        }
        let script = ((container["command"] as? [String] ?? []) + (container["args"] as? [String] ?? []))
            .joined(separator: " ")
        #expect(script.contains("berth server"), "\(script)")
        #expect(script.contains("--node-id \"$(( ${POD_NAME##*-} + 1 ))\""), "node id from the ordinal: \(script)")

        // Every Service port lands on a container port of the same name and number.
        for service in services {
            for port in (service["spec"] as? [String: Any])?["ports"] as? [[String: Any]] ?? [] {
                let target = port["targetPort"] as? String ?? ""
                #expect(ports[target] == port["port"] as? Int, "\(Self.name(service)) port \(port)")
            }
        }

        // The data directory is the claim's mount.
        let claims = spec["volumeClaimTemplates"] as? [[String: Any]] ?? []
        let claimNames = claims.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        let dataDir = try #require(environment["BERTH_DATA_DIR"])
        let dataMount = mounts.first { $0["mountPath"] as? String == dataDir }
        #expect(claimNames.contains(dataMount?["name"] as? String ?? "-"), "\(dataDir) is not on a claimed volume")

        // Probes.
        func probe(_ key: String) -> (path: String?, port: String?) {
            let get = (container[key] as? [String: Any])?["httpGet"] as? [String: Any]
            return (get?["path"] as? String, get?["port"] as? String)
        }
        #expect(probe("readinessProbe").path == "/health/ready" && probe("readinessProbe").port == "http")
        #expect(probe("livenessProbe").path == "/health/live" && probe("livenessProbe").port == "http")

        // preStop drains this very node, and the grace period leaves room for it and the hand-off.
        let preStop =
            (((container["lifecycle"] as? [String: Any])?["preStop"] as? [String: Any])?["exec"]
            as? [String: Any])?["command"] as? [String]
        let hook = (preStop ?? []).joined(separator: " ")
        #expect(hook.contains("berth cluster drain --servers \"http://${BERTH_HTTP_LISTEN}\""), "\(hook)")
        #expect((podSpec["terminationGracePeriodSeconds"] as? Int ?? 0) >= 45)

        let budget = try #require(all("PodDisruptionBudget").first)
        let budgetSpec = try #require(budget["spec"] as? [String: Any])
        #expect(budgetSpec["maxUnavailable"] as? Int == 1)
        #expect((budgetSpec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] == podLabels)
    }

    private static func name(_ document: [String: Any]) -> String? {
        (document["metadata"] as? [String: Any])?["name"] as? String
    }

    // MARK: - Compose

    @Test("compose.yaml: three nodes whose ids, peer lists, ports and volumes agree; HAProxy uses deploy/haproxy")
    func compose() throws {
        let path = try HAProxyFront.deployFile("compose/compose.yaml")
        let document = try #require(
            try Yams.load(yaml: String(contentsOfFile: path, encoding: .utf8)) as? [String: Any])
        let services = try #require(document["services"] as? [String: [String: Any]])
        let namedVolumes = Set((document["volumes"] as? [String: Any] ?? [:]).keys)
        var peerLists: Set<String> = []
        var httpByID: [UInt64: String] = [:]
        for (name, service) in services where name.hasPrefix("berth") {
            let command = try #require(service["command"] as? [String], "\(name): no command")
            #expect(command.first == "server", "\(name)")
            var flags: [String: String] = [:]
            for (flag, value) in zip(command.dropFirst(), command.dropFirst(2)) where flag.hasPrefix("--") {
                flags[flag] = value
            }
            let id = try #require(flags["--node-id"].flatMap { UInt64($0) }, "\(name)")
            let peersText = try #require(flags["--peers"], "\(name)")
            peerLists.insert(peersText)
            let peers = try ServerConfig.parsePeers(peersText)
            // What a node listens on is what the others dial: its own entry, under its own name.
            #expect(peers[id]?.description == flags["--peer-listen"], "\(name): \(flags)")
            #expect(peers[id]?.host == name && service["hostname"] as? String == name, "\(name)")
            let http = try #require(flags["--http-listen"].flatMap { HostPort($0) }, "\(name)")
            #expect(http.host == name)
            httpByID[id] = http.description
            let published = (service["ports"] as? [String] ?? []).compactMap { $0.split(separator: ":").last }
            #expect(published.contains(Substring("\(http.port)")), "\(name) publishes \(published)")
            let dataDir = try #require(flags["--data-dir"], "\(name)")
            let volumes = (service["volumes"] as? [String] ?? []).map { $0.split(separator: ":").map(String.init) }
            let data = volumes.first { $0.count >= 2 && $0[1] == dataDir }
            #expect(data.map { namedVolumes.contains($0[0]) } == true, "\(name): \(dataDir) is not on a named volume")
        }
        #expect(httpByID.keys.sorted() == [1, 2, 3])
        #expect(peerLists.count == 1, "nodes disagree on --peers: \(peerLists)")
        let peers = try ServerConfig.parsePeers(try #require(peerLists.first))
        #expect(peers.keys.sorted() == [1, 2, 3])

        let haproxy = try #require(services["haproxy"])
        let environment = try #require(haproxy["environment"] as? [String: String])
        for (id, address) in httpByID {
            #expect(environment["BERTH_SERVER_\(id)"] == address, "haproxy's BERTH_SERVER_\(id)")
        }
        let mount = (haproxy["volumes"] as? [String] ?? []).first ?? ""
        let source = URL(fileURLWithPath: path).deletingLastPathComponent()
            .appendingPathComponent(String(mount.split(separator: ":").first ?? "")).standardized.path
        #expect(source == URL(fileURLWithPath: try HAProxyFront.deployFile("haproxy/haproxy.cfg")).standardized.path)
        #expect(mount.hasSuffix(":/usr/local/etc/haproxy/haproxy.cfg:ro"), "\(mount)")
    }
}
