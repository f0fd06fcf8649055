/**
 * Chats with other accounts, in Node.
 *
 *   send → display      two accounts with two devices each, real WebRTC through the real signaling
 *                        server on loopback: 200 messages, each from a device of either account, until
 *                        it shows on a device of the other (p50, p99)
 *   group of 64         64 accounts of one device each in memory (MemoryNetwork): how long a message
 *                        takes to reach every member; the cost of a key rotation (one member leaves:
 *                        sealing the new epoch to 63 devices, and until every member uses it). Each
 *                        device meets only a few others in the group's room (src/lib/transport/link-plan.ts)
 *   checks              what checking another account's update costs (signature and rules), per message
 */
import * as Y from 'yjs';
import { messagesMap, monthOf, monthTopic } from '../src/lib/chats/messages';
import { Session, type Platform } from '../src/lib/session';
import { MemoryDocumentStore, MemoryKeyValueStore } from '../src/lib/storage/memory';
import { MemoryNetwork } from '../src/lib/transport/memory';
import { silentLogger } from '../signaling/log';
import { startSignalingServer } from '../signaling/server';
import { webRtcPlatform } from '../tests/helpers/node-webrtc';
import { linkDevice, percentile, whenTrue } from './helpers';

const ORIGIN = 'https://samen.test';

async function befriend(x: Session, y: Session): Promise<string> {
	const known = new Set(x.chats.list.map((chat) => chat.id));
	y.contacts.accept(x.contacts.createInvite(ORIGIN));
	await y.contacts.settled();
	x.contacts.poll();
	await whenTrue(x, () => x.chats.list.some((chat) => chat.kind === 'direct' && !known.has(chat.id)));
	await x.contacts.settled();
	const chatId = x.chats.list.find((chat) => chat.kind === 'direct' && !known.has(chat.id))!.id;
	y.contacts.poll();
	await whenTrue(y, () => y.chats.chat(chatId) !== undefined);
	return chatId;
}

// --- two accounts, two devices each, real WebRTC ---
const server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger });
const ada = await Session.createAccount(webRtcPlatform(server.url), 'Ada', 'Laptop');
const bram = await Session.createAccount(webRtcPlatform(server.url), 'Bram', 'Laptop');
ada.connect();
bram.connect();
const { device: adaPhone } = await linkDevice(server.url, ada, 'Phone');
const { device: bramPhone } = await linkDevice(server.url, bram, 'Phone');
const chatId = await befriend(ada, bram);
const devices = [ada, adaPhone, bram, bramPhone];
await Promise.all(devices.map((device) => whenTrue(device, () => device.shared.currentEpoch(chatId) === 1 && device.shared.peers(chatId) >= 1)));
console.error('2 × 2 devices ready');
const samples: number[] = [];
for (let i = 0; i < 200; i++) {
	const sender = devices[i % 4]!;
	const receiver = devices[(i + 2 + (i >> 2) % 2) % 4]!;
	const text = `between accounts ${i}`;
	const started = performance.now();
	await sender.chats.send(chatId, text);
	await whenTrue(receiver, () => receiver.chats.messages(chatId).slice(-3).some((message) => message.text === text));
	samples.push(performance.now() - started);
}
samples.sort((a, b) => a - b);
for (const device of devices) await device.close();
await server.close();

// --- a group of 64, in memory ---
const network = new MemoryNetwork();
const platform = (): Platform => ({ records: new MemoryKeyValueStore(), documents: new MemoryDocumentStore(), transport: (room, auth, mode) => network.transport(room, auth, mode), clock: Date.now });
const members: Session[] = [];
const GROUP = Number(process.env.BENCH_GROUP_SIZE ?? 64);
for (let i = 0; i < GROUP; i++) {
	const member = await Session.createAccount(platform(), `Member ${i}`, 'Phone', 'phone');
	member.connect();
	members.push(member);
}
const [creator] = members as [Session];
// One invite, shown to all 63 (an invite holds for anyone it is shown to): one look answers them all.
const invite = creator.contacts.createInvite(ORIGIN);
for (const member of members.slice(1)) member.contacts.accept(invite);
await Promise.all(members.slice(1).map((member) => member.contacts.settled()));
creator.contacts.poll();
await whenTrue(creator, () => creator.people.contacts.length === GROUP - 1);
await creator.contacts.settled();
for (const member of members.slice(1)) member.contacts.poll();
await Promise.all(members.slice(1).map((member) => whenTrue(member, () => member.people.contacts.length === 1)));
console.error(`${GROUP - 1} contacts`);
const groupStarted = performance.now();
const groupId = await creator.shared.createGroup('The group', members.slice(1).map((member) => member.trust.accountId));
await Promise.all(members.map((member) => whenTrue(member, () => member.shared.currentEpoch(groupId) === 1)));
const groupSetupMs = performance.now() - groupStarted;
console.error(`group ready in ${(performance.now() - groupStarted).toFixed(0)} ms`);
const reachStarted = performance.now();
await members[7]!.chats.send(groupId, 'to all of you');
let reached = 0;
await Promise.all(
	members.map((member) =>
		whenTrue(member, () => member.chats.messages(groupId).some((message) => message.text === 'to all of you')).then(() => {
			if (++reached % 8 === 0) console.error(`${reached} have it after ${(performance.now() - reachStarted).toFixed(0)} ms`);
		})
	)
);
const reachMs = performance.now() - reachStarted;
const channels = members.map((member) => member.shared.peers(groupId));
const rotationStarted = performance.now();
await members[GROUP - 1]!.shared.leave(groupId);
await Promise.all(members.slice(0, GROUP - 1).map((member) => whenTrue(member, () => member.shared.currentEpoch(groupId) >= 2)));
const rotationMs = performance.now() - rotationStarted;
const sealStarted = performance.now();
await creator.shared.rotate(groupId);
const sealMs = performance.now() - sealStarted;

// --- what checking costs, per message ---
const month = monthTopic(groupId, monthOf(Date.now()));
const source = new Y.Doc();
for (let i = 0; i < 1000; i++) {
	messagesMap(source).set(`m${i}`, creator.shared.signMessage({ id: `m${i}`, chatId: groupId, author: creator.keys.id, text: 'x'.repeat(200), sentAt: Date.now() }));
}
const update = Y.encodeStateAsUpdate(source);
const checkStarted = performance.now();
const accepted = members[1]!.shared.checkUpdate(month, update, new Y.Doc());
const checkMs = (performance.now() - checkStarted) / 1000;
for (const member of members) await member.close();

console.log('\nChats with other accounts (Node)');
console.table([
	{ measure: 'send → display, 2 accounts × 2 devices, real WebRTC: p50', value: `${percentile(samples, 50).toFixed(1)} ms` },
	{ measure: 'send → display: p99', value: `${percentile(samples, 99).toFixed(1)} ms` },
	{ measure: `group of ${GROUP}: create until every member holds the key`, value: `${groupSetupMs.toFixed(0)} ms` },
	{ measure: `group of ${GROUP}: one message until all show it`, value: `${reachMs.toFixed(0)} ms` },
	{
		measure: `group of ${GROUP}: channels per device in its room, fewest / mean / most`,
		value: `${Math.min(...channels)} / ${(channels.reduce((sum, count) => sum + count, 0) / GROUP).toFixed(1)} / ${Math.max(...channels)}`
	},
	{ measure: `group of ${GROUP}: a member leaves until the others use the new key`, value: `${rotationMs.toFixed(0)} ms` },
	{ measure: `group of ${GROUP}: sealing a new epoch to ${GROUP - 1} devices`, value: `${sealMs.toFixed(0)} ms` },
	{ measure: `checking another account's update, per message (1,000; ${accepted ? 'accepted' : 'REFUSED'})`, value: `${checkMs.toFixed(2)} ms` }
]);
process.exit(0);
