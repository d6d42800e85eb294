/** The wire protocol version this code speaks. Agreed in the first frame (`hello`). */
export const PROTOCOL_VERSION = 4;

/** Every version this code can speak, newest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION, 3, 2, 1];
