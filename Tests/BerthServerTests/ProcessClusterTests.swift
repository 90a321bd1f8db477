import Testing

/// Every test that runs real `berth server` processes lives in a nested suite of this one, so
/// they run one after another: each starts its own cluster on free loopback ports, and two
/// clusters at once would only fight over the CPU and blur timing checks.
@Suite("berth server processes", .serialized, .timeLimit(.minutes(3)))
struct ProcessClusterTests {}
