import BerthControlPlane
import Foundation
import Testing

@testable import BerthAgent

@Suite("Host fingerprint parsing")
struct FingerprintParsingTests {
    @Test("MemTotal and MemAvailable from /proc/meminfo, in KiB and MiB")
    func meminfo() throws {
        let sample = """
            MemTotal:        8038424 kB
            MemFree:          912344 kB
            MemAvailable:    5120220 kB
            Buffers:          204812 kB
            HugePages_Total:       0
            """
        let info = try #require(MemInfo(parsing: sample))
        #expect(info.totalKiB == 8_038_424)
        #expect(info.totalMiB == 7850)
        #expect(info.availableKiB == 5_120_220)
        #expect(MemInfo(parsing: "MemFree: 12 kB\n") == nil, "no total, no fingerprint")
        #expect(MemInfo(parsing: "MemTotal: 2048 kB")?.availableKiB == nil, "old kernels have no MemAvailable")
    }

    @Test("backend versions from their --version output")
    func versions() {
        #expect(
            BackendVersionText.parse(
                "QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1.4)\nCopyright (c) 2003-2023 Fabrice Bellard")
                == "8.2.2")
        #expect(BackendVersionText.parse("QEMU emulator version 6.2.0 (qemu-6.2.0-11.el8)") == "6.2.0")
        #expect(BackendVersionText.parse("cloud-hypervisor v40.0.0") == "40.0.0")
        #expect(BackendVersionText.parse("cloud-hypervisor v38.0-dirty") == "38.0")
        #expect(BackendVersionText.parse("\nFirecracker v1.7.0\n\n") == "1.7.0")
        #expect(BackendVersionText.parse("firecracker 1.10.1.") == "1.10.1")
        #expect(BackendVersionText.parse("usage: qemu [options]") == nil)
        #expect(BackendVersionText.parse("") == nil)
        #expect(BackendSupport.isSupported(.qemu, version: BackendVersionText.parse("QEMU emulator version 8.2.2")!))
    }

    @Test("architectures normalized to the spec's names")
    func architectures() {
        #expect(HostArchitecture.normalize("x86_64") == .x86_64)
        #expect(HostArchitecture.normalize("amd64\n") == .x86_64)
        #expect(HostArchitecture.normalize("arm64") == .aarch64)
        #expect(HostArchitecture.normalize("aarch64") == .aarch64)
        #expect(HostArchitecture.normalize("riscv64") == nil)
        #expect(HostArchitecture.current != nil)
    }

    @Test("--labels k=v,…: later keys win, an empty key is refused")
    func labels() throws {
        #expect(try LabelList.parse("zone=a, rack=r1,zone=b") == ["zone": "b", "rack": "r1"])
        #expect(try LabelList.parse("") == [:])
        #expect(try LabelList.parse("gpu=") == ["gpu": ""])
        #expect(throws: LabelList.Invalid.self) { try LabelList.parse("=x") }
        #expect(throws: LabelList.Invalid.self) { try LabelList.parse("novalue") }
    }

    @Test("a QEMU counts only for the host's own architecture")
    func backendKinds() {
        #expect(BackendDiscovery.kind(ofBinary: "qemu-system-x86_64", hostArch: .x86_64) == .qemu)
        #expect(BackendDiscovery.kind(ofBinary: "qemu-system-aarch64", hostArch: .x86_64) == nil)
        #expect(BackendDiscovery.kind(ofBinary: "qemu-system-aarch64", hostArch: .aarch64) == .qemu)
        #expect(BackendDiscovery.kind(ofBinary: "cloud-hypervisor", hostArch: .aarch64) == .cloudHypervisor)
        #expect(BackendDiscovery.kind(ofBinary: "firecracker", hostArch: .x86_64) == .firecracker)
        #expect(BackendDiscovery.kind(ofBinary: "qemu-img", hostArch: .x86_64) == nil)
    }

    @Test("backends found on a PATH, with the versions they print")
    func discovery() throws {
        let root = try TemporaryRoot()
        defer { root.remove() }
        let script = "#!/bin/sh\necho 'cloud-hypervisor v41.0.0'\n"
        let path = root.path + "/cloud-hypervisor"
        try writeExecutable(script, to: path)
        try writeExecutable("#!/bin/sh\nexit 1\n", to: root.path + "/firecracker")
        let found = BackendDiscovery(searchPath: [root.path]).discover(hostArch: .x86_64)
        #expect(
            found == [
                InstalledBackend(kind: .cloudHypervisor, binary: path, version: "41.0.0"),
                InstalledBackend(kind: .firecracker, binary: root.path + "/firecracker", version: ""),
            ])
    }

    @Test("the probed fingerprint makes an envelope the server's reader accepts")
    func probedEnvelope() throws {
        let kvm = KVMProbeResult(present: false, usable: false, apiVersion: nil, evidence: "test", elapsedMs: 0)
        var probe = HostProbe()
        probe.labels = ["zone": "test"]
        let fingerprint = try probe.fingerprint(kvm: kvm, backends: [])
        #expect(fingerprint.cpus.total == ProcessInfo.processInfo.activeProcessorCount)
        #expect(fingerprint.memoryMiB.total > 0 && fingerprint.memoryMiB.allocatable <= fingerprint.memoryMiB.total)
        #expect(fingerprint.backends.first?.kind == .process)
        let envelope = fingerprint.envelope(nodeID: "host-1", sequence: 7, observedAtMs: 1_700_000_000_000)
        let parsed = try SchedulerEnvelope.parse(json: Array(try JSONEncoder().encode(envelope)))
        #expect(parsed == envelope)
    }

    @Test("a fixture replaces the probed truth; a fixture the server would refuse is refused here")
    func fixture() throws {
        let json = """
            {"arch": "aarch64", "cpus": {"total": 32, "allocatable": 30},
             "memory_mib": {"total": 65536, "allocatable": 61440},
             "kvm": {"present": true, "usable": true}, "kernel": "6.8.0",
             "backends": [{"kind": "qemu", "binary": "/usr/bin/qemu-system-aarch64", "version": "8.2.2"}],
             "labels": {"zone": "a"}}
            """
        let fingerprint = try FingerprintFixture.parse(Data(json.utf8))
        #expect(fingerprint.arch == .aarch64)
        #expect(fingerprint.kvm == KVMStatus(present: true, usable: true))
        #expect(fingerprint.health == .healthy)
        #expect(fingerprint.labels == ["zone": "a"])
        let inconsistent = json.replacingOccurrences(of: "\"present\": true", with: "\"present\": false")
        #expect(throws: FingerprintFixture.Invalid.self) { try FingerprintFixture.parse(Data(inconsistent.utf8)) }
    }
}

@Suite("Agent with a fixture")
struct AgentFixtureTests {
    @Test("--fixture replaces the probed host; --labels win over the fixture's")
    func labelsMerge() async throws {
        let temporary = try TemporaryRoot()
        defer { temporary.remove() }
        let path = temporary.path + "/fixture.json"
        try """
        {"arch": "aarch64", "cpus": {"total": 8, "allocatable": 8},
         "memory_mib": {"total": 16384, "allocatable": 16000},
         "kvm": {"present": true, "usable": false, "evidence": "nested virtualisation off"},
         "labels": {"zone": "a", "rack": "r1"}}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = AgentConfiguration(
            servers: ["http://127.0.0.1:9"], nodeID: "arm-9", rootPath: temporary.path + "/root")
        configuration.fixturePath = path
        configuration.labels = ["zone": "b"]
        let agent = try Agent(configuration: configuration, logger: .init(label: "test"))
        let fixture = await agent.fixture
        #expect(fixture?.arch == .aarch64)
        #expect(fixture?.labels == ["zone": "b", "rack": "r1"])
        #expect(fixture?.kvmEvidence == "nested virtualisation off")
    }
}
