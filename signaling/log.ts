/**
 * Structured logs: one JSON object per line. No log line carries a room id, a peer id or a
 * client address: the server logs what happened and why, not who.
 */

export type LogFields = Record<string, string | number | boolean | undefined>;
export type Logger = (event: string, fields?: LogFields) => void;

export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Logger {
	return (event, fields = {}) => write(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
}

export const silentLogger: Logger = () => {};
