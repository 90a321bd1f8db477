import BerthControlPlane
import Testing

/// Backend versions and the minimum-version table.
@Suite struct BackendSupportTests {
    @Test("versions are read from the start of what the binary reports")
    func parsing() {
        #expect(BackendVersion(parsing: "8.2.2") == BackendVersion(8, 2, 2))
        #expect(BackendVersion(parsing: "v1.7.0") == BackendVersion(1, 7, 0))
        #expect(BackendVersion(parsing: "41.0") == BackendVersion(41, 0))
        #expect(BackendVersion(parsing: "7") == BackendVersion(7))
        #expect(BackendVersion(parsing: "7.2.11+dfsg-1") == BackendVersion(7, 2, 11))
        #expect(BackendVersion(parsing: "6.2.0 (Debian 1:6.2+dfsg-2ubuntu6)") == BackendVersion(6, 2, 0))
        #expect(BackendVersion(parsing: "1.2.3.4") == BackendVersion(1, 2, 3))
        #expect(BackendVersion(parsing: "") == nil)
        #expect(BackendVersion(parsing: "unknown") == nil)
        #expect(BackendVersion(parsing: "99999999999999999999999") != nil)
    }

    @Test("the minimum table: qemu 6.2, cloud-hypervisor 30.0, firecracker 1.0, process any")
    func minimums() {
        #expect(BackendSupport.minimumVersion(of: .qemu) == BackendVersion(6, 2))
        #expect(BackendSupport.minimumVersion(of: .cloudHypervisor) == BackendVersion(30, 0))
        #expect(BackendSupport.minimumVersion(of: .firecracker) == BackendVersion(1, 0))
        #expect(BackendSupport.minimumVersion(of: .process) == nil)
    }

    @Test("at the minimum is supported, just below is not, unparseable is not (except process)")
    func boundaries() {
        #expect(BackendSupport.isSupported(.qemu, version: "6.2"))
        #expect(BackendSupport.isSupported(.qemu, version: "6.2.0"))
        #expect(!BackendSupport.isSupported(.qemu, version: "6.1.99"))
        #expect(BackendSupport.isSupported(.cloudHypervisor, version: "v30.0"))
        #expect(!BackendSupport.isSupported(.cloudHypervisor, version: "29.9"))
        #expect(BackendSupport.isSupported(.firecracker, version: "1.0.0"))
        #expect(!BackendSupport.isSupported(.firecracker, version: "0.25.2"))
        #expect(!BackendSupport.isSupported(.qemu, version: ""))
        #expect(BackendSupport.isSupported(.process, version: ""))
        #expect(BackendSupport.isSupported(.process, version: "whatever"))
    }
}
