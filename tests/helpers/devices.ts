import { LinkApproval } from '../../src/lib/linking/approval';
import { LinkInvitation } from '../../src/lib/linking/invitation';
import type { LinkState } from '../../src/lib/linking/state';
import type { DeviceKind } from '../../src/lib/protocol/trust';
import { Session, type JoinedAccount, type Platform } from '../../src/lib/session';
import { MemoryDocumentStore, MemoryKeyValueStore } from '../../src/lib/storage/memory';
import type { MemoryNetwork } from '../../src/lib/transport/memory';
import type { Transport } from '../../src/lib/transport/types';
import type { Clock } from '../../src/lib/util/clock';

export function memoryPlatform(network: MemoryNetwork, clock: Clock = () => Date.now()): Platform {
	return {
		records: new MemoryKeyValueStore(),
		documents: new MemoryDocumentStore(),
		transport: (room, auth, mode) => network.transport(room, auth, mode),
		clock
	};
}

/** Resolves once `check` holds, re-checking on every change of any of `sessions`. */
export function until(sessions: Session[], check: () => boolean, timeoutMs = 10_000): Promise<void> {
	return new Promise((resolve, reject) => {
		const stops: (() => void)[] = [];
		const done = () => {
			clearTimeout(timer);
			clearInterval(poll);
			for (const stop of stops) stop();
		};
		const test = () => {
			if (check()) {
				done();
				resolve();
			}
		};
		const timer = setTimeout(() => {
			done();
			reject(new Error('condition not reached in time'));
		}, timeoutMs);
		const poll = setInterval(test, 20);
		for (const session of sessions) stops.push(session.on('changed', test));
		test();
	});
}

export function texts(session: Session, chatId = 'self'): string[] {
	return session.chats.messages(chatId).map((m) => m.text);
}

type StateEmitter = { state: LinkState; on(event: 'state', listener: (state: LinkState) => void): () => void };

export function nextState(emitter: StateEmitter, kind: LinkState['kind']): Promise<LinkState> {
	return new Promise((resolve) => {
		if (emitter.state.kind === kind) return resolve(emitter.state);
		const stop = emitter.on('state', (state) => {
			if (state.kind === kind) {
				stop();
				resolve(state);
			}
		});
	});
}

/** Runs the whole link handshake, both users confirming, and returns what the new device adopts. */
export async function linkThroughHandshake(
	primary: Session,
	openTransport: (room: string) => Transport,
	primaryTransport: (room: string) => Transport,
	name: string,
	options: { kind?: DeviceKind; clock?: Clock } = {}
): Promise<JoinedAccount> {
	const clock = options.clock ?? (() => Date.now());
	const invitation = new LinkInvitation(name, options.kind ?? 'phone', openTransport, clock);
	const joined = new Promise<JoinedAccount>((resolve) => invitation.on('joined', resolve));
	invitation.start();
	const approval = new LinkApproval(invitation.payload, primary, primaryTransport, clock);
	approval.start();
	await Promise.all([nextState(approval, 'confirm'), nextState(invitation, 'confirm')]);
	invitation.confirm();
	approval.confirm();
	const account = await joined;
	await nextState(approval, 'linked');
	return account;
}

/** A primary and `companions` linked devices in memory, all connected and synced once, then apart. */
export async function linkedAccount(
	network: MemoryNetwork,
	companions: number,
	options: { clock?: Clock; connected?: boolean } = {}
): Promise<Session[]> {
	const clock = options.clock ?? (() => Date.now());
	const primary = await Session.createAccount(memoryPlatform(network, clock), 'Ada', 'Laptop', 'computer');
	const sessions = [primary];
	for (let i = 0; i < companions; i++) {
		const platform = memoryPlatform(network, clock);
		const joined = await linkThroughHandshake(primary, platform.transport, (room) => network.transport(room), `Phone ${i + 1}`, { clock });
		sessions.push(await Session.join(platform, joined));
	}
	for (const session of sessions) session.connect();
	await until(sessions, () => sessions.every((s) => s.connection.syncedPeers === companions && s.chats.chat('self') !== undefined));
	if (!options.connected) for (const session of sessions) session.disconnect();
	return sessions;
}
