/**
 * The server's settings, from environment variables (documented in the README). A bad value stops
 * the server at start with a message that names the variable, rather than running half-configured.
 */
import { readFileSync } from 'node:fs';
import { isIceServer, type IceServer, type IceTransportPolicy } from '../src/lib/transport/signaling-protocol';
import { DEFAULT_MAILBOX_LIMITS, type MailboxLimits } from './mailbox';

export interface Limits {
	/** Largest WebSocket frame a client may send; larger closes the connection with 1009. */
	maxFrameBytes: number;
	maxRoomsPerConnection: number;
	/** Token bucket per connection: sustained frames per second, and the burst above it. */
	framesPerSecond: number;
	frameBurst: number;
	/** A connection that does not answer pings for this long is dropped. */
	idleTimeoutMs: number;
	maxConnectionsPerIp: number;
}

export interface ServerConfig {
	port: number;
	host: string;
	/** Origins whose pages may open the signaling socket; 'same-origin' allows the server's own host. */
	allowedOrigins: string[] | 'same-origin' | 'any';
	tls?: { cert: string; key: string };
	iceServers: IceServer[];
	/** 'relay': devices connect only through the TURN servers, so peers never learn each other's addresses. */
	iceTransportPolicy: IceTransportPolicy;
	limits: Limits;
	mailbox: MailboxLimits;
	/** Shared room directory for several processes; in this process's memory when absent. */
	redisUrl?: string;
	/** Behind a load balancer: take the client's address from the last X-Forwarded-For entry. */
	trustProxy: boolean;
}

export const DEFAULT_LIMITS: Limits = {
	maxFrameBytes: 64 * 1024,
	maxRoomsPerConnection: 8,
	framesPerSecond: 50,
	frameBurst: 100,
	idleTimeoutMs: 60_000,
	maxConnectionsPerIp: 32
};

export class ConfigError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ConfigError';
	}
}

type Env = Record<string, string | undefined>;

function positiveInteger(env: Env, name: string, fallback: number): number {
	const raw = env[name];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive whole number, not "${raw}"`);
	return value;
}

function iceServers(raw: string | undefined): IceServer[] {
	if (!raw) return [];
	let value: unknown;
	try {
		value = JSON.parse(raw);
	} catch {
		throw new ConfigError('ICE_SERVERS must be JSON, e.g. [{"urls":"stun:stun.example.org:3478"}]');
	}
	const valid = Array.isArray(value) && value.every(isIceServer);
	if (!valid) throw new ConfigError('ICE_SERVERS must be a list of {"urls", "username"?, "credential"?}');
	return value as IceServer[];
}

function flag(env: Env, name: string): boolean {
	const raw = env[name];
	if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
	if (raw === '1' || raw === 'true') return true;
	throw new ConfigError(`${name} must be 1 or 0, not "${raw}"`);
}

function redisUrl(raw: string | undefined): string | undefined {
	if (!raw) return undefined;
	if (!/^rediss?:\/\//.test(raw)) throw new ConfigError('REDIS_URL must look like redis://host:6379 (or rediss:// for TLS)');
	return raw;
}

function readFile(name: string, path: string): string {
	try {
		return readFileSync(path, 'utf8');
	} catch (error) {
		throw new ConfigError(`${name}: cannot read ${path} (${(error as Error).message})`);
	}
}

function iceTransportPolicy(raw: string | undefined, servers: IceServer[]): IceTransportPolicy {
	if (raw === undefined || raw === '' || raw === 'all') return 'all';
	if (raw !== 'relay') throw new ConfigError('ICE_TRANSPORT_POLICY must be "all" or "relay"');
	const urls = servers.flatMap((server) => (Array.isArray(server.urls) ? server.urls : [server.urls]));
	if (!urls.some((url) => /^turns?:/.test(url))) throw new ConfigError('ICE_TRANSPORT_POLICY=relay needs a TURN server in ICE_SERVERS');
	return 'relay';
}

export function configFromEnv(env: Env = process.env): ServerConfig {
	const certFile = env.TLS_CERT_FILE;
	const keyFile = env.TLS_KEY_FILE;
	if (!!certFile !== !!keyFile) throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither');
	const origins = env.ALLOWED_ORIGINS?.trim();
	return {
		port: env.PORT === '0' ? 0 : positiveInteger(env, 'PORT', 8787),
		host: env.HOST || '0.0.0.0',
		allowedOrigins: !origins ? 'same-origin' : origins === '*' ? 'any' : origins.split(',').map((o) => o.trim().replace(/\/$/, '')),
		tls: certFile && keyFile ? { cert: readFile('TLS_CERT_FILE', certFile), key: readFile('TLS_KEY_FILE', keyFile) } : undefined,
		iceServers: iceServers(env.ICE_SERVERS),
		iceTransportPolicy: iceTransportPolicy(env.ICE_TRANSPORT_POLICY, iceServers(env.ICE_SERVERS)),
		redisUrl: redisUrl(env.REDIS_URL),
		trustProxy: flag(env, 'TRUST_PROXY'),
		mailbox: {
			maxRoomBytes: positiveInteger(env, 'MAILBOX_ROOM_BYTES', DEFAULT_MAILBOX_LIMITS.maxRoomBytes),
			maxRoomItems: positiveInteger(env, 'MAILBOX_ROOM_ITEMS', DEFAULT_MAILBOX_LIMITS.maxRoomItems),
			maxTotalBytes: positiveInteger(env, 'MAILBOX_TOTAL_BYTES', DEFAULT_MAILBOX_LIMITS.maxTotalBytes),
			ttlMs: positiveInteger(env, 'MAILBOX_DAYS', DEFAULT_MAILBOX_LIMITS.ttlMs / 86_400_000) * 86_400_000
		},
		limits: {
			maxFrameBytes: positiveInteger(env, 'MAX_FRAME_BYTES', DEFAULT_LIMITS.maxFrameBytes),
			maxRoomsPerConnection: positiveInteger(env, 'MAX_ROOMS_PER_CONNECTION', DEFAULT_LIMITS.maxRoomsPerConnection),
			framesPerSecond: positiveInteger(env, 'FRAMES_PER_SECOND', DEFAULT_LIMITS.framesPerSecond),
			frameBurst: positiveInteger(env, 'FRAME_BURST', DEFAULT_LIMITS.frameBurst),
			idleTimeoutMs: positiveInteger(env, 'IDLE_TIMEOUT_SECONDS', DEFAULT_LIMITS.idleTimeoutMs / 1000) * 1000,
			maxConnectionsPerIp: positiveInteger(env, 'MAX_CONNECTIONS_PER_IP', DEFAULT_LIMITS.maxConnectionsPerIp)
		}
	};
}
