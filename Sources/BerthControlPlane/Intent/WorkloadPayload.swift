/// What a workload runs: exactly one of an image (VM backends) or a command (the `process`
/// backend). Modelled as one choice so "both" and "neither" cannot be represented.
public enum WorkloadPayload: Equatable, Hashable, Sendable {
    case image(WorkloadImage)
    case command(WorkloadCommand)

    /// The backend kinds that can run this payload at all.
    public var compatibleBackends: [BackendKind] {
        switch self {
        case .image: return BackendKind.virtualMachinePreference
        case .command: return [.process]
        }
    }

    /// Writes `image`, or `command` (and `shell: true` for a shell command) into a parent's container,
    /// so intents and launch specs share one wire form.
    func encode<Key: CodingKey>(
        into container: inout KeyedEncodingContainer<Key>, imageKey: Key, commandKey: Key, shellKey: Key
    ) throws {
        switch self {
        case .image(let image):
            try container.encode(image, forKey: imageKey)
        case .command(let command):
            if let script = command.script {
                try container.encode(script, forKey: commandKey)
                try container.encode(true, forKey: shellKey)
            } else {
                try container.encode(command.argv, forKey: commandKey)
            }
        }
    }
}

extension FieldReader {
    /// Reads `image` or `command` (+ `shell`) from `object`, reporting both, neither, and
    /// `shell` without a command string.
    mutating func payload(_ object: ObjectFields?) -> WorkloadPayload? {
        guard let object else { return nil }
        let imageField = optional(object, "image")
        let commandField = optional(object, "command")
        let shellField = optional(object, "shell")
        let shell = bool(shellField) ?? false
        switch (imageField, commandField) {
        case (nil, nil):
            report(
                object.path(of: "image"), .missingField,
                "an image (for a VM backend) or a command (for process) is required")
            return nil
        case (.some, .some(let commandField)):
            report(commandField.path, .inconsistent, "give either image or command, not both")
            return nil
        case (.some(let imageField), nil):
            if shell, let shellField {
                report(shellField.path, .inconsistent, "applies only to a command string")
            }
            return image(imageField).map(WorkloadPayload.image)
        case (nil, .some(let commandField)):
            return command(commandField, shell: shell, shellPath: shellField?.path).map(WorkloadPayload.command)
        }
    }

    private mutating func image(_ field: Field) -> WorkloadImage? {
        let limits = ValidationLimits.self
        let object = object(field)
        rejectUnknownMembers(object, allowed: ["kernel", "initrd", "disk", "cmdline"])
        let kernel = string(required(object, "kernel"), bytes: limits.imagePathBytes)
        let initrdField = optional(object, "initrd")
        let initrd = string(initrdField, bytes: limits.imagePathBytes)
        let diskField = optional(object, "disk")
        let disk = string(diskField, bytes: limits.imagePathBytes)
        let cmdlineField = optional(object, "cmdline")
        let cmdline = string(cmdlineField, bytes: limits.kernelCmdlineBytes)
        guard let kernel, (initrdField == nil) == (initrd == nil), (diskField == nil) == (disk == nil),
            (cmdlineField == nil) == (cmdline == nil)
        else { return nil }
        return WorkloadImage(kernel: kernel, initrd: initrd, disk: disk, cmdline: cmdline)
    }

    private mutating func command(_ field: Field, shell: Bool, shellPath: String?) -> WorkloadCommand? {
        let command: WorkloadCommand
        switch field.value {
        case .string(let text):
            command = WorkloadCommand(string: text, shell: shell)
            if text.allSatisfy(\.isWhitespace) {
                report(field.path, .invalidFormat, "must not be empty")
                return nil
            }
        case .array(let elements):
            if shell, let shellPath {
                report(shellPath, .inconsistent, "applies only to a command string, not an argument array")
                return nil
            }
            guard let items = array(field, maxCount: ValidationLimits.commandArgumentsMax) else { return nil }
            var argv: [String] = []
            for item in items {
                if let argument = string(item, bytes: 0...ValidationLimits.commandBytesMax) { argv.append(argument) }
            }
            guard argv.count == elements.count else { return nil }
            guard let program = argv.first, !program.isEmpty else {
                report(argv.isEmpty ? field.path : "\(field.path)[0]", .invalidFormat, "must name a program")
                return nil
            }
            command = WorkloadCommand(argv: argv)
        default:
            report(field.path, .invalidType, "must be a string or an array of strings, got \(field.value.typeName)")
            return nil
        }
        let bytes = command.argv.reduce(0) { $0 + $1.utf8.count }
        guard bytes <= ValidationLimits.commandBytesMax else {
            report(
                field.path, .tooLong, "must be at most \(ValidationLimits.commandBytesMax) bytes in all, got \(bytes)")
            return nil
        }
        guard command.argv.count <= ValidationLimits.commandArgumentsMax else {
            report(
                field.path, .tooMany,
                "must have at most \(ValidationLimits.commandArgumentsMax) arguments, got \(command.argv.count)")
            return nil
        }
        return command
    }
}
