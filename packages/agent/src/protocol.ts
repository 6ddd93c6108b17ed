/**
 * Everything the agent takes from @vigil/protocol, in one place: its constants (values) and its
 * wire types (erased at build). The build bundles this file with the constants inlined, so the
 * published package needs no @vigil/protocol and still loads no validation library in the host.
 */
export * from '@vigil/protocol/constants';
export type * from '@vigil/protocol/types';
