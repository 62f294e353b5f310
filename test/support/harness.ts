/** Tests use the same loopback stack as the demo and the benchmarks. */
export * from '../../src/sandboxes/stack.js';
