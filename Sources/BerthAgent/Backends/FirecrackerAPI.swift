import BerthControlPlane

/// Firecracker's REST API (`firecracker.yaml`), as Berth drives it:
///
/// ```
/// firecracker --api-sock <root>/launches/<id>/api.sock       (stdout: the guest's serial console)
/// PUT /logger          {"log_path": …/firecracker.log, "level": "Info", …}
/// PUT /boot-source     {"kernel_image_path", "boot_args", "initrd_path"?}
/// PUT /machine-config  {"vcpu_count", "mem_size_mib", "smt": false}
/// PUT /drives/rootfs   {"drive_id": "rootfs", "path_on_host", "is_root_device": true, "is_read_only": false}
/// PUT /actions         {"action_type": "InstanceStart"}
/// GET /                until "state": "Running"
/// terminate (x86_64): PUT /actions {"action_type": "SendCtrlAltDel"}, then SIGKILL
/// ```
///
/// Success is 204 (200 with a body for `GET /`); a failure is 4xx/5xx with
/// `{"fault_message": "…"}`.
public enum FirecrackerAPI {
    /// The most vCPUs a microVM may have (`machine-config`'s `vcpu_count` range).
    public static let maximumVCPUs = 32
    /// The boot arguments when the image has none: the serial console, reboot by keyboard
    /// controller (so a guest's reboot, and Ctrl-Alt-Del, end Firecracker), no PCI probing.
    public static let defaultBootArgs = "console=ttyS0 reboot=k panic=1 pci=off"

    /// Answers `{"id", "state": "Not started" | "Running" | "Paused", "vmm_version", "app_name"}`.
    public static let readiness = VMMAPIRequest("GET", "/")

    /// Ctrl-Alt-Del exists on x86 only (the i8042 controller; `reboot=k` makes the guest's
    /// reboot end Firecracker): aarch64 microVMs get SIGTERM instead.
    public static func terminate(arch: Architecture) -> [VMMAPIRequest] {
        arch == .x86_64
            ? [VMMAPIRequest("PUT", "/actions", body: .object(["action_type": .string("SendCtrlAltDel")]))] : []
    }

    static func plan(spec: LaunchSpec, image: WorkloadImage, files: VMMFiles, program: String)
        throws(VMMPlanError) -> VMMLaunchPlan
    {
        guard spec.vcpus <= maximumVCPUs else {
            throw VMMPlanError(
                code: .validationFailed, detail: "Firecracker runs at most \(maximumVCPUs) vCPUs, not \(spec.vcpus)")
        }
        var bootSource: [String: VMMJSON] = [
            "kernel_image_path": .string(files.kernel), "boot_args": .string(image.cmdline ?? defaultBootArgs),
        ]
        if let initrd = files.initrd { bootSource["initrd_path"] = .string(initrd) }
        var boot = [
            VMMAPIRequest(
                "PUT", "/logger",
                body: .object([
                    "log_path": .string(files.vmmLog), "level": .string("Info"), "show_level": .bool(true),
                    "show_log_origin": .bool(false),
                ])),
            VMMAPIRequest("PUT", "/boot-source", body: .object(bootSource)),
            VMMAPIRequest(
                "PUT", "/machine-config",
                body: .object([
                    "vcpu_count": .int(Int64(spec.vcpus)), "mem_size_mib": .int(Int64(spec.memoryMiB)),
                    "smt": .bool(false),
                ])),
        ]
        if let disk = files.disk {
            boot.append(
                VMMAPIRequest(
                    "PUT", "/drives/rootfs",
                    body: .object([
                        "drive_id": .string("rootfs"), "path_on_host": .string(disk), "is_root_device": .bool(true),
                        "is_read_only": .bool(false),
                    ])))
        }
        boot.append(VMMAPIRequest("PUT", "/actions", body: .object(["action_type": .string("InstanceStart")])))
        return VMMLaunchPlan(
            kind: .firecracker, program: program, argv: [program, "--api-sock", files.socket],
            api: VMMAPIPlan(
                socket: files.socket, boot: boot, readiness: readiness, readyState: "Running",
                terminate: terminate(arch: spec.arch)),
            serialLog: files.serialLog, stdoutName: "serial.log", precreated: [files.vmmLog])
    }
}
