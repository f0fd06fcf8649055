import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { messagesMap, monthOf, monthTopic } from '../../src/lib/chats/messages';
import { stateTopic } from '../../src/lib/chats/shared-chats';
import { RULES_KEY, signRecord } from '../../src/lib/protocol/chat-records';
import { ContactError, readInvite, readSafetyCode, writeInvite, writeSafetyCode } from '../../src/lib/protocol/contacts';
import { toBase64Url } from '../../src/lib/crypto';
import { Session, type Platform } from '../../src/lib/session';
import { FULL_MESH_PEERS, linkBound } from '../../src/lib/transport/link-plan';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { linkedAccount, until } from '../helpers/devices';

let sessions: Session[] = [];

afterEach(async () => {
	for (const session of sessions) await session.close().catch(() => undefined);
	sessions = [];
});

const ORIGIN = 'https://samen.test';

function connect(devices: Session[]): void {
	for (const device of devices) device.connect();
}
function disconnect(devices: Session[]): void {
	for (const device of devices) device.disconnect();
}
/** The shared chat of a device (the one that is not the self chat). */
function directChat(device: Session): string | undefined {
	return device.chats.list.find((chat) => chat.kind === 'direct')?.id;
}
function texts(device: Session, chatId: string): string[] {
	return device.chats.messages(chatId).map((message) => message.text);
}
/** The devices that made boxes of a chat's `epoch`, as a device holds its state. */
async function makersOf(device: Session, chatId: string, epoch: number): Promise<string[]> {
	const state = await (device as unknown as { engine: { open(topic: string): Promise<Y.Doc> } }).engine.open(stateTopic(chatId));
	return [...new Set([...state.getMap('keys').keys()].filter((key) => key.startsWith(`${epoch}/`)).map((key) => key.split('/')[2]!))].sort();
}

/**
 * Two accounts, A with 2 devices and B with 3, become contacts while never online at the same
 * time: B asks while A is away, A answers while B is away, B completes when it is back.
 */
async function contacts(network: MemoryNetwork): Promise<{ a: Session[]; b: Session[]; chatId: string }> {
	const a = await linkedAccount(network, 1, { connected: true });
	const b = await linkedAccount(network, 2);
	sessions.push(...a, ...b);
	const url = a[1]!.contacts.createInvite(ORIGIN);
	// A's other device learns of the invite, then A goes away.
	await until(a, () => a[0]!.contacts.invites === 1);
	disconnect(a);

	connect(b);
	expect(b[2]!.contacts.accept(url).name).toBe('Ada');
	await b[2]!.contacts.settled();
	await until(b, () => b.every((device) => device.contacts.pending.length === 1));
	disconnect(b);

	// A's primary (not the device that showed the invite) answers.
	connect([a[0]!]);
	a[0]!.contacts.poll();
	await until(a, () => a[0]!.people.contacts.length === 1 && directChat(a[0]!) !== undefined);
	await a[0]!.contacts.settled();
	disconnect([a[0]!]);

	// B's primary (not the device that asked) takes the answer.
	connect([b[0]!]);
	b[0]!.contacts.poll();
	await until(b, () => directChat(b[0]!) !== undefined);
	const chatId = directChat(b[0]!)!;
	expect(directChat(a[0]!)).toBe(chatId);
	return { a, b, chatId };
}

describe('contacts and chats with other accounts', () => {
	it('becomes contacts while the other side is offline, and every device of both accounts sends and receives', async () => {
		const network = new MemoryNetwork();
		const { a, b, chatId } = await contacts(network);
		expect(b[0]!.people.contacts.map((person) => person.name)).toEqual(['Ada']);
		connect([...a, ...b]);
		await until([...a, ...b], () => [...a, ...b].every((device) => directChat(device) === chatId && device.shared.currentEpoch(chatId) === 1));
		const all = [...a, ...b];
		for (const [index, device] of all.entries()) await device.chats.send(chatId, `from device ${index}`);
		const expected = all.map((_, index) => `from device ${index}`).sort();
		await until(all, () => all.every((device) => [...texts(device, chatId)].sort().join() === expected.join()), 20_000);
		// The same order on every device.
		const order = texts(all[0]!, chatId);
		for (const device of all) expect(texts(device, chatId)).toEqual(order);
		// Both accounts show each other the same safety code.
		expect(a[0]!.safetyCode(b[0]!.trust.accountId)).toEqual(b[1]!.safetyCode(a[1]!.trust.accountId));
		expect(a[0]!.safetyCode(b[0]!.trust.accountId)).toHaveLength(12);
	}, 60_000);

	it('delivers through the chat mailbox to an account that was offline', async () => {
		const network = new MemoryNetwork();
		const { a, b, chatId } = await contacts(network);
		disconnect([...a, ...b]);
		connect([a[1]!]);
		await until([a[1]!], () => directChat(a[1]!) === chatId && a[1]!.shared.currentEpoch(chatId) === 1);
		await a[1]!.chats.send(chatId, 'while you were away');
		await until([a[1]!], () => !a[1]!.shared.undelivered);
		disconnect([a[1]!]);
		connect([b[1]!]);
		await until([b[1]!], () => directChat(b[1]!) === chatId && texts(b[1]!, chatId).includes('while you were away'));
	}, 60_000);

	it('refuses a message claiming another account, sent directly or relayed by another device', async () => {
		const network = new MemoryNetwork();
		const { a, b, chatId } = await contacts(network);
		const bAccount = b[0]!.trust.accountId;
		connect([a[0]!, b[0]!]);
		await until([a[0]!, b[0]!], () => a[0]!.shared.peers(chatId) === 1 && b[0]!.shared.peers(chatId) === 1);
		const refusedBefore = b[0]!.shared.refused;
		// A's device writes, straight into the document, a message in B's name.
		const topic = monthTopic(chatId, monthOf(Date.now()));
		const doc = (a[0] as unknown as { engine: { open(topic: string): Promise<Y.Doc> } }).engine;
		const month = await doc.open(topic);
		messagesMap(month).set('forged-1', { id: 'forged-1', chatId, author: b[0]!.keys.id, account: bAccount, text: 'I owe Ada money', sentAt: Date.now() });
		await a[0]!.chats.send(chatId, 'a real message');
		await until([b[0]!], () => b[0]!.shared.refused > refusedBefore);
		expect(texts(b[0]!, chatId)).not.toContain('I owe Ada money');
		// A's other device takes it from A (its own account: trusted) and offers it to B's other device.
		disconnect([a[0]!, b[0]!]);
		connect([a[0]!, a[1]!]);
		await until([a[1]!], () => texts(a[1]!, chatId).includes('I owe Ada money'));
		disconnect([a[0]!]);
		connect([b[2]!]);
		await until([b[2]!], () => b[2]!.shared.peers(chatId) === 1 && b[2]!.shared.refused > 0, 20_000);
		expect(texts(b[2]!, chatId)).not.toContain('I owe Ada money');
	}, 60_000);

	it('moves the chat to a new key when a member account removes a device', async () => {
		const network = new MemoryNetwork();
		const { a, b, chatId } = await contacts(network);
		connect([...a, ...b]);
		await until([...a, ...b], () => [...a, ...b].every((device) => device.shared.currentEpoch(chatId) === 1));
		const removed = a[1]!;
		a[0]!.removeDevice(removed.keys.id);
		await until([...b, a[0]!], () => [...b, a[0]!].every((device) => device.shared.currentEpoch(chatId) === 2), 20_000);
		// No box of the new epoch for the removed device.
		const state = await (b[0] as unknown as { engine: { open(topic: string): Promise<Y.Doc> } }).engine.open(stateTopic(chatId));
		expect([...state.getMap('keys').keys()].filter((key) => key === `2/${removed.keys.id}`)).toEqual([]);
		expect([...state.getMap('keys').keys()].some((key) => key.startsWith('2/'))).toBe(true);
		await b[1]!.chats.send(chatId, 'after the removal');
		await until([a[0]!], () => texts(a[0]!, chatId).includes('after the removal'));
		// The removed device, still holding its keys, writes nothing new; what it wrote before stays good.
		const removedAt = b[0]!.people.removedAt(a[0]!.trust.accountId, removed.keys.id)!;
		expect(removedAt).toBeGreaterThan(0);
		const fromRemoved = (id: string, sentAt: number) => {
			const doc = new Y.Doc();
			messagesMap(doc).set(id, removed.shared.signMessage({ id, chatId, author: removed.keys.id, text: id, sentAt }));
			return Y.encodeStateAsUpdate(doc);
		};
		const topic = monthTopic(chatId, monthOf(Date.now()));
		const target = await (b[0] as unknown as { engine: { open(topic: string): Promise<Y.Doc> } }).engine.open(topic);
		expect(b[0]!.shared.checkUpdate(topic, fromRemoved('written-after', removedAt + 1), target)).toBe(false);
		expect(b[0]!.shared.checkUpdate(topic, fromRemoved('written-before', removedAt - 1), target)).toBe(true);
	}, 60_000);
});

/** `N` sessions, as a tuple. */
type Sessions<N extends number, Made extends Session[] = []> = Made['length'] extends N ? Made : Sessions<N, [...Made, Session]>;

/** `count` accounts of one device each, online; closed after the test. */
async function accounts<N extends 1 | 2 | 3 | 4>(network: MemoryNetwork, count: N): Promise<Sessions<N>> {
	const made: Session[] = [];
	for (let i = 0; i < count; i++) made.push((await linkedAccount(network, 0, { connected: true }))[0]!);
	sessions.push(...made);
	return made as Sessions<N>;
}

type WithEngine = { engine: { open(topic: string): Promise<Y.Doc> } };
const open = (session: Session, topic: string) => (session as unknown as WithEngine).engine.open(topic);

/** Makes `x` and `y` contacts with both online; returns their direct chat. */
async function befriend(x: Session, y: Session): Promise<string> {
	const before = new Set(x.chats.list.map((chat) => chat.id));
	y.contacts.accept(x.contacts.createInvite(ORIGIN));
	await y.contacts.settled();
	x.contacts.poll();
	await until([x], () => x.chats.list.some((chat) => chat.kind === 'direct' && !before.has(chat.id)));
	await x.contacts.settled();
	y.contacts.poll();
	const chatId = x.chats.list.find((chat) => chat.kind === 'direct' && !before.has(chat.id))!.id;
	await until([y], () => y.chats.chat(chatId) !== undefined);
	return chatId;
}

describe('group chats', () => {
	it('reaches every member, and after a member leaves, moves on without it', async () => {
		const network = new MemoryNetwork();
		const [a, b, c] = await accounts(network, 3);
		await befriend(a, b);
		await befriend(a, c);
		const groupId = await a.shared.createGroup('Team', [b.trust.accountId, c.trust.accountId]);
		const all = [a, b, c];
		await until(all, () => all.every((device) => device.chats.chat(groupId)?.kind === 'group' && device.shared.currentEpoch(groupId) === 1));
		for (const [index, device] of all.entries()) await device.chats.send(groupId, `hello from ${index}`);
		await until(all, () => all.every((device) => texts(device, groupId).length === 3), 20_000);
		// B and C never met as contacts, yet admit each other as members.
		expect(b.people.get(c.trust.accountId)?.contact).toBe(false);

		await c.shared.leave(groupId);
		await until([a, b], () => a.shared.currentEpoch(groupId) === 2 && b.shared.currentEpoch(groupId) === 2, 20_000);
		// Both noticed the leave; one of them started the new epoch, the other took it.
		expect(await makersOf(a, groupId, 2)).toEqual(await makersOf(b, groupId, 2));
		expect(await makersOf(a, groupId, 2)).toHaveLength(1);
		await b.chats.send(groupId, 'after C left');
		await until([a], () => texts(a, groupId).includes('after C left'));
		expect(texts(c, groupId)).not.toContain('after C left');
		expect(c.shared.currentEpoch(groupId)).toBe(0);
		// A 65th member is refused.
		await expect(a.shared.createGroup('Too many', Array.from({ length: 64 }, (_, index) => `account-${index}`))).rejects.toThrow(/too-many-members/);
	}, 60_000);

	it('checks what a member it never met wrote, relayed by another, against the list that member keeps in the chat', async () => {
		const network = new MemoryNetwork();
		const [a, b, c] = await accounts(network, 3);
		await befriend(a, b);
		await befriend(a, c);
		c.disconnect();
		const groupId = await a.shared.createGroup('Never met', [b.trust.accountId, c.trust.accountId]);
		await until([a, b], () => b.shared.currentEpoch(groupId) === 1 && b.shared.peers(groupId) === 1);
		await b.chats.send(groupId, 'from B');
		await until([a], () => texts(a, groupId).includes('from B'));
		b.disconnect();
		c.connect();
		await until([c], () => texts(c, groupId).includes('from B'), 20_000);
		expect(c.people.get(b.trust.accountId)?.contact).toBe(false);
	}, 60_000);

	it('in a group too large for a full mesh, reaches every member through the others, and a leave starts one new epoch', async () => {
		const network = new MemoryNetwork();
		const all: Session[] = [];
		for (let i = 0; i < FULL_MESH_PEERS + 3; i++) all.push((await linkedAccount(network, 0, { connected: true }))[0]!);
		sessions.push(...all);
		const [creator, ...others] = all as [Session, ...Session[]];
		for (const other of others) await befriend(creator, other);
		const groupId = await creator.shared.createGroup('Many', others.map((other) => other.trust.accountId));
		await until(all, () => all.every((device) => device.shared.currentEpoch(groupId) === 1), 30_000);
		await others[3]!.chats.send(groupId, 'to all of you');
		await until(all, () => all.every((device) => texts(device, groupId).includes('to all of you')), 30_000);
		// Each meets a few of the others, and checked what the rest wrote against the lists in the chat's state.
		const met = all.map((device) => device.shared.peers(groupId));
		expect(Math.max(...met)).toBeLessThanOrEqual(linkBound(all.length));
		expect(Math.min(...met)).toBeLessThan(all.length - 1);
		expect(others[5]!.people.get(others[3]!.trust.accountId)?.contact).toBe(false);

		const leaver = others.at(-1)!;
		const staying = all.filter((device) => device !== leaver);
		await leaver.shared.leave(groupId);
		await until(staying, () => staying.every((device) => device.shared.currentEpoch(groupId) === 2), 30_000);
		expect(await makersOf(creator, groupId, 2)).toHaveLength(1);
		await others[0]!.chats.send(groupId, 'after the leave');
		await until(staying, () => staying.every((device) => texts(device, groupId).includes('after the leave')), 30_000);
		expect(texts(leaver, groupId)).not.toContain('after the leave');
	}, 120_000);
});

describe('adding members to a group', () => {
	it('a member added as a rival epoch of the same number wins elsewhere still ends up in the group with the others', async () => {
		const network = new MemoryNetwork();
		const [a, b, c] = await accounts(network, 3);
		await befriend(a, b);
		await befriend(a, c);
		await befriend(b, c);
		const groupId = await a.shared.createGroup('Team', [b.trust.accountId], { membersAdd: true });
		await until([a, b], () => b.shared.currentEpoch(groupId) === 1 && a.shared.peers(groupId) === 1 && b.shared.mayAdd(groupId));
		// Of two devices that start the same epoch, the smaller id wins: the adder is the other one.
		const [rival, adder] = a.keys.id < b.keys.id ? [a, b] : [b, a];
		disconnect([rival]);
		await adder.shared.addMembers(groupId, [c.trust.accountId]);
		await until([c], () => c.shared.currentEpoch(groupId) === 2);
		// Meanwhile, apart, the rival starts epoch 2 of its own (as after one of its devices was removed).
		await rival.shared.rotate(groupId);
		expect(rival.shared.currentEpoch(groupId)).toBe(2);
		connect([rival]);

		const all = [a, b, c];
		await rival.chats.send(groupId, 'after the race');
		await until(all, () => all.every((device) => texts(device, groupId).includes('after the race')), 20_000);
		await c.chats.send(groupId, 'the new member is heard');
		await until(all, () => all.every((device) => texts(device, groupId).includes('the new member is heard')), 20_000);
		expect(new Set(all.map((device) => device.shared.currentEpoch(groupId))).size).toBe(1);

		// An invitation again is taken only from a member the rules let add: a contact of C outside
		// the group cannot move C to a secret of its own, for this epoch or a later one.
		const [outsider] = await accounts(network, 1);
		const outsiderChat = await befriend(outsider, c);
		const epoch = c.shared.currentEpoch(groupId);
		const held = () => (c as unknown as { shared: { epochs(id: string): { epoch: number; secret: Uint8Array }[] } }).shared.epochs(groupId).map((known) => `${known.epoch}:${toBase64Url(known.secret)}`);
		const before = held();
		const invite = (outsider.shared as unknown as { invite(account: string, group: object, secret: Uint8Array, epoch: number): Promise<void> }).invite.bind(outsider.shared);
		type Invitations = { stateRecords(chatId: string, kind: 'group'): { by: string; epoch: number }[] };
		for (const at of [epoch, epoch + 1]) {
			await invite(c.trust.accountId, { id: groupId, title: 'Team', members: [] }, new Uint8Array(32).fill(7), at);
			await until([c], () => (c.shared as unknown as Invitations).stateRecords(outsiderChat, 'group').some((record) => record.by === outsider.trust.accountId && record.epoch === at));
		}
		await c.chats.send(groupId, 'still with the others');
		await until(all, () => all.every((device) => texts(device, groupId).includes('still with the others')), 20_000);
		expect(held()).toEqual(before);
	});

	it('lets the creator add, and members only when the creator allows; new members read on and write, and one who left is added back', async () => {
		const network = new MemoryNetwork();
		const [a, b, c, d] = await accounts(network, 4);
		await befriend(a, b);
		await befriend(a, c);
		await befriend(b, d);
		const groupId = await a.shared.createGroup('Team', [b.trust.accountId], { membersAdd: false });
		await until([a, b], () => b.shared.currentEpoch(groupId) === 1 && a.shared.peers(groupId) === 1);
		await a.chats.send(groupId, 'before C came');
		await until([b], () => texts(b, groupId).includes('before C came'));

		// Only the creator may add: B is told so, and nothing is written.
		expect(b.shared.mayAdd(groupId)).toBe(false);
		await expect(b.shared.addMembers(groupId, [d.trust.accountId])).rejects.toThrow(/not-allowed/);
		expect(b.shared.members(groupId).sort()).toEqual([a.trust.accountId, b.trust.accountId].sort());
		// Nor does a hostile device of B get A to apply it: a member record for D, a rewrite of B's own
		// record as though B had made the group, or rules in B's name.
		const signer = { id: b.keys.id, signSecret: b.keys.signing.secretKey };
		const dKey = a.people.get(b.trust.accountId)!.accountKey;
		const attacks = [
			(doc: Y.Doc) => doc.getMap('members').set(d.trust.accountId, signRecord('member', { chat: groupId, account: d.trust.accountId, key: toBase64Url(dKey), name: 'D', by: b.trust.accountId, at: Date.now() }, signer)),
			(doc: Y.Doc) => doc.getMap('members').set(b.trust.accountId, signRecord('member', { chat: groupId, account: b.trust.accountId, key: toBase64Url(dKey), name: 'B', by: b.trust.accountId, at: 0 }, signer)),
			(doc: Y.Doc) => doc.getMap('rules').set(RULES_KEY, signRecord('rules', { chat: groupId, membersAdd: true, by: b.trust.accountId, at: Date.now() }, signer))
		];
		for (const attack of attacks) {
			const target = await open(a, stateTopic(groupId));
			const hostile = new Y.Doc({ gc: false });
			Y.applyUpdate(hostile, Y.encodeStateAsUpdate(await open(b, stateTopic(groupId))));
			attack(hostile);
			expect(a.shared.checkUpdate(stateTopic(groupId), Y.encodeStateAsUpdate(hostile, Y.encodeStateVector(target)), target)).toBe(false);
		}

		await a.shared.addMembers(groupId, [c.trust.accountId]);
		const abc = [a, b, c];
		await until(abc, () => abc.every((device) => device.shared.currentEpoch(groupId) === 2 && device.shared.members(groupId).length === 3), 20_000);
		expect(c.chats.chat(groupId)?.title).toBe('Team');
		await c.chats.send(groupId, 'hello from C');
		await until(abc, () => abc.every((device) => texts(device, groupId).includes('hello from C')), 20_000);
		// The group's earlier messages reach the new member from the others.
		await until([c], () => texts(c, groupId).includes('before C came'), 20_000);

		// The creator allows every member to add: B adds its own contact D, whom A has never met.
		await a.shared.setMembersMayAdd(groupId, true);
		await until([b], () => b.shared.mayAdd(groupId) && a.shared.membersMayAdd(groupId));
		// Allowed to add, B still cannot give D a key that is not D's (an account id is its key's hash).
		{
			const target = await open(a, stateTopic(groupId));
			const hostile = new Y.Doc({ gc: false });
			Y.applyUpdate(hostile, Y.encodeStateAsUpdate(await open(b, stateTopic(groupId))));
			const wrongKey = signRecord('member', { chat: groupId, account: d.trust.accountId, key: toBase64Url(dKey), name: 'D', by: b.trust.accountId, at: Date.now() }, signer);
			hostile.getMap('members').set(d.trust.accountId, wrongKey);
			expect(a.shared.checkUpdate(stateTopic(groupId), Y.encodeStateAsUpdate(hostile, Y.encodeStateVector(target)), target)).toBe(false);
		}
		await b.shared.addMembers(groupId, [d.trust.accountId]);
		const all = [a, b, c, d];
		await until(all, () => all.every((device) => device.shared.currentEpoch(groupId) === 3 && device.shared.members(groupId).length === 4), 20_000);
		await d.chats.send(groupId, 'hello from D');
		await until(all, () => all.every((device) => texts(device, groupId).includes('hello from D')), 20_000);
		expect(a.people.get(d.trust.accountId)?.contact).toBe(false);

		// C leaves; A adds C back, and C reads what is written after.
		await c.shared.leave(groupId);
		await until([a, b, d], () => [a, b, d].every((device) => device.shared.currentEpoch(groupId) === 4 && !device.shared.members(groupId).includes(c.trust.accountId)), 20_000);
		await a.chats.send(groupId, 'while C was away');
		await a.shared.addMembers(groupId, [c.trust.accountId]);
		await until(all, () => all.every((device) => device.shared.currentEpoch(groupId) === 5 && device.shared.members(groupId).length === 4), 20_000);
		await b.chats.send(groupId, 'welcome back C');
		await until([c], () => texts(c, groupId).includes('welcome back C') && texts(c, groupId).includes('while C was away'), 20_000);
		expect(c.chats.chat(groupId)?.left).toBeFalsy();

		// Never past 64 members, counted with those already in.
		await expect(a.shared.addMembers(groupId, Array.from({ length: 61 }, (_, index) => `account-${index}`))).rejects.toThrow(/too-many-members/);
	}, 120_000);

	it('an invitation back into a group, saved just before the app closed, is taken when the app starts again', async () => {
		const network = new MemoryNetwork();
		const [a, b, c] = await accounts(network, 3);
		// The direct chat comes before the group in C's chat list: the app looks at it first on start.
		const direct = await befriend(a, c);
		await befriend(a, b);
		const groupId = await a.shared.createGroup('Team', [b.trust.accountId, c.trust.accountId]);
		const abc = [a, b, c];
		await until(abc, () => abc.every((device) => device.shared.currentEpoch(groupId) === 1 && device.shared.members(groupId).length === 3), 20_000);
		await c.shared.leave(groupId);
		await until([a, b], () => [a, b].every((device) => !device.shared.members(groupId).includes(c.trust.accountId)), 20_000);

		// C's app closes; A adds C back. The invitation reached C's device and was saved, but the app
		// closed before it was acted on.
		const platform = (c as unknown as { platform: Platform }).platform;
		await c.close();
		await a.shared.addMembers(groupId, [c.trust.accountId]);
		const saved = new Y.Doc({ gc: false });
		await platform.documents.bind(stateTopic(direct), saved);
		Y.applyUpdate(saved, Y.encodeStateAsUpdate(await open(a, stateTopic(direct))));
		await platform.documents.flush();
		saved.destroy();

		const again = (await Session.restore(platform))!;
		sessions.push(again);
		again.connect();
		await until([again], () => again.chats.chat(groupId)?.left !== true && again.shared.members(groupId).includes(c.trust.accountId), 20_000);
		await a.chats.send(groupId, 'welcome back C');
		await until([again], () => texts(again, groupId).includes('welcome back C'), 20_000);
	}, 120_000);
});

describe('verifying a contact by its scanned safety code', () => {
	it('marks the contact verified on this side only when the scanned code is this pair\'s, and marks nothing otherwise', async () => {
		const network = new MemoryNetwork();
		const [a, b, c] = await accounts(network, 3);
		await befriend(a, b);
		await befriend(a, c);
		const [aId, bId, cId] = [a.trust.accountId, b.trust.accountId, c.trust.accountId];
		/** What `device` shows as the QR for `other`, read back as the camera of the scanning side does. */
		const shown = (device: Session, other: string) => readSafetyCode(writeSafetyCode(device.safetyCode(other)!));

		// A scans, on her page for C, the code B shows for A: another pair's code.
		expect(a.confirmSafetyCode(cId, shown(b, aId))).toBe(false);
		expect(a.people.get(cId)?.verified).toBe(false);
		// C's code for A, scanned on B's page for A.
		expect(b.confirmSafetyCode(aId, shown(c, aId))).toBe(false);
		expect(b.people.get(aId)?.verified).toBe(false);
		// No code for an account this side does not know.
		expect(b.confirmSafetyCode(cId, shown(c, aId))).toBe(false);

		expect(a.confirmSafetyCode(bId, shown(b, aId))).toBe(true);
		expect(a.people.get(bId)?.verified).toBe(true);
		// Verifying is A's judgement: B has not verified A.
		expect(b.people.get(aId)?.verified).toBe(false);
		expect(b.confirmSafetyCode(aId, shown(a, bId))).toBe(true);
		expect(b.people.get(aId)?.verified).toBe(true);
	}, 60_000);
});

describe('in a chat with another account', () => {
	it('moves receipts from sent to delivered to read, clears the unread count on the reader\'s other device, and shows edits, deletions, replies and reactions everywhere', async () => {
		const network = new MemoryNetwork();
		const a = await linkedAccount(network, 0, { connected: true });
		const b = await linkedAccount(network, 1, { connected: true });
		sessions.push(...a, ...b);
		const chatId = await befriend(a[0]!, b[0]!);
		const all = [...a, ...b];
		await until(all, () => all.every((device) => device.shared.currentEpoch(chatId) === 1 && device.shared.peers(chatId) > 0));
		const sent = await a[0]!.chats.send(chatId, 'Shall we meet on Friday?');
		expect(a[0]!.shared.receipt(sent)).toBe('sent');
		await until(all, () => a[0]!.shared.receipt(sent) === 'delivered');
		await until(b, () => b.every((device) => device.chats.unreadCount(chatId) === 1));
		b[1]!.chats.markRead(chatId);
		await until(all, () => a[0]!.shared.receipt(sent) === 'read' && b[0]!.chats.unreadCount(chatId) === 0);

		const reply = await b[0]!.chats.send(chatId, 'Friday works', { reply: sent.id });
		await until(a, () => a[0]!.chats.messages(chatId).some((message) => message.id === reply.id && message.reply === sent.id));
		await a[0]!.shared.react(reply, '👍');
		await until(b, () => b[1]!.shared.reactions(reply).get('👍')?.[0] === a[0]!.trust.accountId);
		const received = a[0]!.chats.messages(chatId).find((message) => message.id === reply.id)!;
		// Only its own account may change a message.
		await expect(a[0]!.chats.change(received, { text: 'Friday is bad' })).rejects.toThrow(/not-yours/);
		await a[0]!.chats.change(a[0]!.chats.messages(chatId).find((message) => message.id === sent.id)!, { text: 'Shall we meet on Saturday?' });
		await until(b, () => b.every((device) => device.chats.messages(chatId).some((message) => message.text === 'Shall we meet on Saturday?' && (message.edited ?? 0) > 0)));
		const edited = b[1]!.chats.messages(chatId).find((message) => message.id === sent.id)!;
		await b[0]!.chats.change(b[0]!.chats.messages(chatId).find((message) => message.id === reply.id)!, { deleted: true });
		await until(a, () => a[0]!.chats.messages(chatId).some((message) => message.id === reply.id && message.deleted && message.text === ''));
		expect(edited.account).toBe(a[0]!.trust.accountId);
		// What any device of either account sends of that month no longer holds the deleted text.
		const topic = monthTopic(chatId, monthOf(reply.sentAt));
		for (const device of all) {
			const doc = await (device as unknown as { engine: { open(topic: string): Promise<Y.Doc> } }).engine.open(topic);
			const sent = new TextDecoder().decode(Y.encodeStateAsUpdate(doc));
			expect(sent).toContain('Shall we meet on Saturday?');
			expect(sent).not.toContain('Friday works');
		}
		// Search finds what is stored on the device, not what was deleted.
		expect((await b[1]!.chats.search('saturday')).map((message) => message.id)).toEqual([sent.id]);
		expect(await a[0]!.chats.search('friday works')).toEqual([]);
	}, 60_000);

	it('shows a line when a contact links a new device, and refuses an invite of a deleted account', async () => {
		const network = new MemoryNetwork();
		const a = await linkedAccount(network, 0, { connected: true });
		const b = await linkedAccount(network, 0, { connected: true });
		sessions.push(...a, ...b);
		const chatId = await befriend(a[0]!, b[0]!);
		await until([a[0]!, b[0]!], () => a[0]!.shared.peers(chatId) === 1);
		const { linkThroughHandshake, memoryPlatform } = await import('../helpers/devices');
		const { Session } = await import('../../src/lib/session');
		const platform = memoryPlatform(network);
		const joined = await linkThroughHandshake(b[0]!, platform.transport, (room) => network.transport(room), 'Tablet');
		const tablet = await Session.join(platform, joined);
		sessions.push(tablet);
		tablet.connect();
		await until([a[0]!], () => a[0]!.people.deviceNotices(b[0]!.trust.accountId).some((notice) => notice.added === 1), 20_000);

		// An account that is deleted after handing out an invite: whoever opens it learns so.
		const c = await linkedAccount(network, 0, { connected: true });
		sessions.push(...c);
		const invite = c[0]!.contacts.createInvite(ORIGIN);
		await c[0]!.contacts.settled();
		await until(c, () => c[0]!.contacts.invites === 1);
		c[0]!.contacts.poll();
		await c[0]!.contacts.settled();
		await c[0]!.deleteAccount();
		a[0]!.contacts.accept(invite);
		await a[0]!.contacts.settled();
		a[0]!.contacts.poll();
		await until([a[0]!], () => a[0]!.contacts.pending.some((request) => request.failed === 'deleted'));
	}, 60_000);
});

describe('invites', () => {
	it('refuses a malformed, expired or own invite', async () => {
		const network = new MemoryNetwork();
		const a = await linkedAccount(network, 0, { connected: true });
		sessions.push(...a);
		expect(() => a[0]!.contacts.accept('https://samen.test/contacts/add#contact=c1AAAA')).toThrow(ContactError);
		const own = a[0]!.contacts.createInvite(ORIGIN);
		expect(() => a[0]!.contacts.accept(own)).toThrow(expect.objectContaining({ code: 'own-account' }));
		const invite = readInvite(own);
		const expired = writeInvite({ ...invite, accountKey: new Uint8Array(32).fill(7), expiresAt: Date.now() - 1 });
		expect(() => a[0]!.contacts.accept(expired)).toThrow(expect.objectContaining({ code: 'expired' }));
	});
});
