/**
 * What a member (or a non-member) of a shared chat can make another member's device apply. Each
 * attack is an update a hostile device of account A crafts against what B's device holds; B's
 * device checks it as it would one arriving from a peer of another account or from the mailbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { messagesMap, monthOf, monthTopic, type ChatMessage } from '../../src/lib/chats/messages';
import { stateTopic } from '../../src/lib/chats/shared-chats';
import { generateDeviceKeys } from '../../src/lib/identity/device-keys';
import { RECORD_PURPOSE, signRecord } from '../../src/lib/protocol/chat-records';
import { generateSigningKeyPair, sign, toBase64Url } from '../../src/lib/crypto';
import { accountIdOf, writeDeviceList } from '../../src/lib/protocol/trust';
import type { Session } from '../../src/lib/session';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { linkedAccount, until } from '../helpers/devices';

const ORIGIN = 'https://samen.test';
let a: Session, b: Session, chatId: string;
const sessions: Session[] = [];

type WithEngine = { engine: { open(topic: string): Promise<Y.Doc> } };
const open = (session: Session, topic: string) => (session as unknown as WithEngine).engine.open(topic);

beforeAll(async () => {
	const network = new MemoryNetwork();
	[a] = (await linkedAccount(network, 0, { connected: true })) as [Session];
	[b] = (await linkedAccount(network, 0, { connected: true })) as [Session];
	sessions.push(a, b);
	b.contacts.accept(a.contacts.createInvite(ORIGIN));
	await b.contacts.settled();
	a.contacts.poll();
	await until([a], () => a.chats.list.some((chat) => chat.kind === 'direct'));
	await a.contacts.settled();
	b.contacts.poll();
	chatId = a.chats.list.find((chat) => chat.kind === 'direct')!.id;
	await until([a, b], () => b.chats.chat(chatId) !== undefined && a.shared.peers(chatId) === 1);
	await b.chats.send(chatId, 'from B');
	await a.chats.send(chatId, 'from A');
	await until([a, b], () => a.chats.messages(chatId).length === 2 && b.chats.messages(chatId).length === 2);
}, 60_000);

afterAll(async () => {
	for (const session of sessions) await session.close();
});

/** What a hostile device of A would send B: its own copy of the document, changed by `attack`, as the update B lacks. */
async function crafted(topic: string, attack: (doc: Y.Doc) => void): Promise<{ update: Uint8Array; target: Y.Doc }> {
	const target = await open(b, topic);
	const hostile = new Y.Doc({ gc: false });
	Y.applyUpdate(hostile, Y.encodeStateAsUpdate(await open(a, topic)));
	attack(hostile);
	return { update: Y.encodeStateAsUpdate(hostile, Y.encodeStateVector(target)), target };
}

function month(): string {
	return monthTopic(chatId, monthOf(Date.now()));
}

function message(session: Session, text: string): ChatMessage {
	return session.chats.messages(chatId).find((candidate) => candidate.text === text)!;
}

function signedByA(fields: Partial<ChatMessage> & { id: string }): ChatMessage {
	return a.shared.signMessage({ chatId, author: a.keys.id, text: 'x', sentAt: Date.now(), ...fields });
}

describe('what another account can make a member apply', () => {
	it('applies a message A signed (the control: the check lets good records through)', async () => {
		const { update, target } = await crafted(month(), (doc) => messagesMap(doc).set('good-1', signedByA({ id: 'good-1', text: 'hello' })));
		expect(b.shared.checkUpdate(month(), update, target)).toBe(true);
	});

	it('refuses a message in B’s name, signed by A’s device', async () => {
		const forged = signedByA({ id: 'forged-2' });
		const { update, target } = await crafted(month(), (doc) => messagesMap(doc).set('forged-2', { ...forged, account: b.trust.accountId }));
		expect(b.shared.checkUpdate(month(), update, target)).toBe(false);
	});

	it('refuses a record whose signature was altered', async () => {
		const record = signedByA({ id: 'tampered', text: 'original' });
		const { update, target } = await crafted(month(), (doc) => messagesMap(doc).set('tampered', { ...record, text: 'changed' }));
		expect(b.shared.checkUpdate(month(), update, target)).toBe(false);
	});

	it('refuses deleting B’s message, and replacing it with A’s own', async () => {
		const id = message(b, 'from B').id;
		const deletion = await crafted(month(), (doc) => messagesMap(doc).delete(id));
		expect(b.shared.checkUpdate(month(), deletion.update, deletion.target)).toBe(false);
		const replacement = await crafted(month(), (doc) => messagesMap(doc).set(id, signedByA({ id, text: 'B never said this' })));
		expect(b.shared.checkUpdate(month(), replacement.update, replacement.target)).toBe(false);
	});

	it('refuses nested types, lists and other documents’ shapes', async () => {
		const nested = await crafted(month(), (doc) => (doc.getMap('messages') as Y.Map<unknown>).set('nested', new Y.Map()));
		expect(b.shared.checkUpdate(month(), nested.update, nested.target)).toBe(false);
		const list = await crafted(month(), (doc) => doc.getArray('junk').push(['x']));
		expect(b.shared.checkUpdate(month(), list.update, list.target)).toBe(false);
		const otherMap = await crafted(month(), (doc) => doc.getMap('members').set('x', signedByA({ id: 'x' })));
		expect(b.shared.checkUpdate(month(), otherMap.update, otherMap.target)).toBe(false);
	});

	it('refuses a message over 10,000 characters and a reaction over 16', async () => {
		// Signed as a writer that ignores the limit would sign it.
		const text = 'x'.repeat(10_001);
		const sentAt = Date.now();
		const bytes = new TextEncoder().encode(JSON.stringify(['message', 'long', chatId, a.trust.accountId, sentAt, text, '', 0, false]));
		const record = { id: 'long', chatId, account: a.trust.accountId, sentAt, text, reply: '', edited: 0, deleted: false, author: a.keys.id, sig: toBase64Url(sign(a.keys.signing.secretKey, RECORD_PURPOSE, bytes)) };
		const long = await crafted(month(), (doc) => messagesMap(doc).set('long', record));
		expect(b.shared.checkUpdate(month(), long.update, long.target)).toBe(false);
		const fromB = message(b, 'from B');
		const emoji = '🎉'.repeat(9);
		const signed = new TextEncoder().encode(JSON.stringify(['reaction', chatId, fromB.id, a.trust.accountId, emoji]));
		const reaction = { chat: chatId, message: fromB.id, account: a.trust.accountId, emoji, author: a.keys.id, sig: toBase64Url(sign(a.keys.signing.secretKey, RECORD_PURPOSE, signed)) };
		const big = await crafted(month(), (doc) => doc.getMap('reactions').set(`${fromB.id}/${a.trust.accountId}`, reaction));
		expect(b.shared.checkUpdate(month(), big.update, big.target)).toBe(false);
	});

	it('refuses a message from a device that is on no member’s list', async () => {
		const stranger = generateDeviceKeys();
		const record = signRecord(
			'message',
			{ id: 'stranger', chatId, account: a.trust.accountId, sentAt: Date.now(), text: 'hi', reply: '', edited: 0, deleted: false },
			{ id: stranger.id, signSecret: stranger.signing.secretKey }
		);
		const { update, target } = await crafted(month(), (doc) => messagesMap(doc).set('stranger', record));
		expect(b.shared.checkUpdate(month(), update, target)).toBe(false);
	});

	it('takes A’s own newer device list into the chat’s state, and refuses one in B’s name, not signed by its account, of a stranger, or older than the one there', async () => {
		const topic = stateTopic(chatId);
		const list = a.trust.deviceList;
		const listOfA = (version: number, secret = a.keys.signing.secretKey) => toBase64Url(writeDeviceList({ ...list, version }, secret));
		const newer = await crafted(topic, (doc) => doc.getMap('lists').set(a.trust.accountId, listOfA(list.version + 5)));
		expect(b.shared.checkUpdate(topic, newer.update, newer.target)).toBe(true);
		const inBsName = await crafted(topic, (doc) => doc.getMap('lists').set(b.trust.accountId, listOfA(list.version + 5)));
		expect(b.shared.checkUpdate(topic, inBsName.update, inBsName.target)).toBe(false);
		const stranger = generateSigningKeyPair();
		const unsigned = await crafted(topic, (doc) => doc.getMap('lists').set(a.trust.accountId, listOfA(list.version + 5, stranger.secretKey)));
		expect(b.shared.checkUpdate(topic, unsigned.update, unsigned.target)).toBe(false);
		const strangersOwn = toBase64Url(writeDeviceList({ ...list, accountKey: stranger.publicKey }, stranger.secretKey));
		const ofStranger = await crafted(topic, (doc) => doc.getMap('lists').set(accountIdOf(stranger.publicKey), strangersOwn));
		expect(b.shared.checkUpdate(topic, ofStranger.update, ofStranger.target)).toBe(false);
		// On a copy of B's state that took the newer list: going back to an older one.
		const taken = new Y.Doc({ gc: false });
		Y.applyUpdate(taken, Y.encodeStateAsUpdate(newer.target));
		Y.applyUpdate(taken, newer.update);
		const hostile = new Y.Doc({ gc: false });
		Y.applyUpdate(hostile, Y.encodeStateAsUpdate(taken));
		hostile.getMap('lists').set(a.trust.accountId, listOfA(list.version + 2));
		expect(b.shared.checkUpdate(topic, Y.encodeStateAsUpdate(hostile, Y.encodeStateVector(taken)), taken)).toBe(false);
	});

	it('refuses a member that A adds to a direct chat in another account’s name, and a mark written for B', async () => {
		const mark = signRecord('mark', { chat: chatId, account: b.trust.accountId, delivered: Date.now(), read: Date.now() }, { id: a.keys.id, signSecret: a.keys.signing.secretKey });
		const { update, target } = await crafted(stateTopic(chatId), (doc) => doc.getMap('marks').set(b.trust.accountId, mark));
		expect(b.shared.checkUpdate(stateTopic(chatId), update, target)).toBe(false);
	});
});
