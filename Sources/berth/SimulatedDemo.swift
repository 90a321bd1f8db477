/// Placeholder until the simulator API settles.
enum SimulatedDemo {
    static func run() throws {}
}
