/**
 * Structured logs: one JSON object per line. A room id never appears in clear: where a log line
 * needs to tell rooms apart it carries a keyed hash that changes with every server start.
 */
import { createHmac, randomBytes } from 'node:crypto';

export type LogFields = Record<string, string | number | boolean | undefined>;
export type Logger = (event: string, fields?: LogFields) => void;

export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Logger {
	return (event, fields = {}) => write(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
}

export const silentLogger: Logger = () => {};

const roomTagKey = randomBytes(32);

export function roomTag(room: string): string {
	return createHmac('sha256', roomTagKey).update(room).digest('hex').slice(0, 12);
}
