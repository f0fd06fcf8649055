/**
 * History at scale, in Node: a generated account of BENCH_HISTORY_MESSAGES messages (100,000 by
 * default) across 50 chats over 24 months, texts of 20 to 400 characters. Devices run with real
 * WebRTC (@roamhq/wrtc) through the real signaling server on loopback, storage in memory (the
 * IndexedDB store has its own benchmark).
 *
 *   link → synced          from the primary's confirmation until the new device holds the last
 *                          year (about half the messages): messages/s, and bytes received against
 *                          the encoded size of that year's documents
 *   start → chat list      Session.restore on the primary (every message stored) until the chat
 *                          list with last messages and unread counts is computed
 *   open largest chat      showing its newest 50 messages, then every month back to its first
 *   send → display         200 messages, with that history present on both devices
 *   heap                   JavaScript heap of the process after the above
 */
import { seedHistory } from '../src/lib/bench/seed';
import { Session, type Platform } from '../src/lib/session';
import { silentLogger } from '../signaling/log';
import { startSignalingServer } from '../signaling/server';
import { webRtcPlatform } from '../tests/helpers/node-webrtc';
import { linkDevice, percentile, whenTrue } from './helpers';

const MESSAGES = Number(process.env.BENCH_HISTORY_MESSAGES ?? 100_000);
const CHATS = 50;
const MONTHS = 24;

const server = await startSignalingServer({ port: 0, host: '127.0.0.1', log: silentLogger });
const primaryPlatform = webRtcPlatform(server.url);
const primary = await Session.createAccount(primaryPlatform, 'Bench', 'Primary');
const seedStarted = performance.now();
const { chatIds, largest, windowBytes, windowMessages } = await seedHistory(primary, { messages: MESSAGES, chats: CHATS, months: MONTHS });
const seedMs = performance.now() - seedStarted;
primary.connect();

// Link a new device, counting what arrives in the account's rooms (those joined with a room key).
const phonePlatform: Platform = webRtcPlatform(server.url);
let received = 0;
const transport = phonePlatform.transport;
phonePlatform.transport = (room, auth, mode) => {
	const made = transport(room, auth, mode);
	if (auth) made.on('message', ({ data }) => (received += data.length));
	return made;
};
const { device: phone, confirmedAt } = await linkDevice(server.url, primary, 'Phone', phonePlatform);
await whenTrue(phone, () => phone.connection.syncedPeers > 0);
const linkMs = performance.now() - confirmedAt;
const bytesReceived = received;
await Promise.all(chatIds.map((id) => phone.chats.show(id, Number.POSITIVE_INFINITY)));
const phoneMessages = chatIds.reduce((sum, id) => sum + phone.chats.messages(id).length, 0);

// Send → display with the history present.
const samples: number[] = [];
for (let i = 0; i < 200; i++) {
	const [sender, receiver] = i % 2 === 0 ? [primary, phone] : [phone, primary];
	const text = `latency ${i}`;
	const started = performance.now();
	await sender.chats.send(largest, text);
	// Two messages sent in the same millisecond order by id: look at the last few, not the last one.
	await whenTrue(receiver, () => receiver.chats.messages(largest).slice(-3).some((message) => message.text === text));
	samples.push(performance.now() - started);
}
samples.sort((a, b) => a - b);

// Cold start on the primary's storage: the session as the app restores it.
await primary.close();
const restartAt = performance.now();
const restored = (await Session.restore(primaryPlatform))!;
const list = restored.chats.list.map((chat) => ({ chat, summary: restored.chats.summary(chat.id) }));
const startMs = performance.now() - restartAt;
const openAt = performance.now();
await restored.chats.show(largest);
const shown = restored.chats.messages(largest).length;
const openMs = performance.now() - openAt;
const backAt = performance.now();
await restored.chats.show(largest, Number.POSITIVE_INFINITY);
const backMs = performance.now() - backAt;
const heapMb = process.memoryUsage().heapUsed / 2 ** 20;

const rows: [string, string][] = [
	['account', `${MESSAGES.toLocaleString('en')} messages, ${CHATS} chats, ${MONTHS} months (written in ${(seedMs / 1000).toFixed(1)} s)`],
	['link → synced (the last year)', `${(linkMs / 1000).toFixed(2)} s for ${phoneMessages.toLocaleString('en')} messages (${Math.round(phoneMessages / (linkMs / 1000)).toLocaleString('en')} messages/s)`],
	['messages in the window / on the new device', `${windowMessages.toLocaleString('en')} / ${phoneMessages.toLocaleString('en')}`],
	['bytes received / encoded size of the window', `${(bytesReceived / 2 ** 20).toFixed(1)} MiB / ${(windowBytes / 2 ** 20).toFixed(1)} MiB (${(bytesReceived / windowBytes).toFixed(2)}×)`],
	['start → chat list (Session.restore, every message stored)', `${startMs.toFixed(0)} ms (${list.length} chats)`],
	['open the largest chat at its newest messages', `${openMs.toFixed(1)} ms (${shown} messages shown of ${restored.chats.monthsOf(largest).length} months)`],
	['… then every month back to its first', `${backMs.toFixed(0)} ms (${restored.chats.messages(largest).length.toLocaleString('en')} messages)`],
	['send → display with the history present, p50 / p99', `${percentile(samples, 50).toFixed(1)} / ${percentile(samples, 99).toFixed(1)} ms`],
	['JavaScript heap (Node process, both devices)', `${heapMb.toFixed(0)} MiB`]
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`\nHistory at scale (Node, real WebRTC, storage in memory)\n${'-'.repeat(width + 40)}`);
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
process.exit(0);
