/**
 * Mailbox entries (src/lib/protocol/mailbox-entry.ts) against what the server, or anyone who can
 * deposit in the room, could leave there: openMailboxEntry may only throw MailboxEntryError or
 * CryptoError. Besides random and mutated sealed entries, random and mutated plain texts are sealed
 * with the right key and room, as a device of the account (or one that kept the epoch key) could:
 * padded (seal(key, pad(plain), room)), so that the plain-text parser sees them, and some with the
 * padding itself mutated or missing. joinMailboxParts gets groups of the parts that came out.
 */
import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CryptoError, seal } from '../../src/lib/crypto';
import { MAX_TOPIC_LENGTH } from '../../src/lib/sync/protocol';
import { joinMailboxParts, MailboxEntryError, MAX_PARTS, openMailboxEntry, sealMailboxEntries, sealMailboxEntry, type MailboxPart } from '../../src/lib/protocol/mailbox-entry';
import { pad } from '../../src/lib/protocol/padding';
import { MAX_INTRODUCTION_BYTES } from '../../src/lib/protocol/trust';
import { fuzz, fuzzSeed, logReport, mixed, mutate, randomBytesInput, seededRandom, seedPlatformRandomness, varUint, type Random } from './fuzz';

const ROOM = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

function plains(random: Random): Uint8Array[] {
	const plain = (write: (encoder: encoding.Encoder) => void) => {
		const encoder = encoding.createEncoder();
		write(encoder);
		return encoding.toUint8Array(encoder);
	};
	return [
		plain((e) => {
			encoding.writeUint8(e, 1);
			encoding.writeVarString(e, 'chat/self/main');
			encoding.writeUint8Array(e, random.bytes(40));
		}),
		plain((e) => {
			encoding.writeUint8(e, 1);
			encoding.writeVarString(e, 't'.repeat(MAX_TOPIC_LENGTH));
		}),
		plain((e) => {
			encoding.writeUint8(e, 2);
			encoding.writeUint8Array(e, random.bytes(120));
		}),
		plain((e) => {
			encoding.writeUint8(e, 3);
			encoding.writeUint8Array(e, random.bytes(16));
			encoding.writeVarUint(e, 1);
			encoding.writeVarUint(e, 3);
			encoding.writeUint8Array(e, random.bytes(30));
		})
	];
}

describe('fuzz: mailbox entries', () => {
	afterEach(() => vi.restoreAllMocks());

	it('openMailboxEntry returns content or a part, or throws MailboxEntryError or CryptoError; parts join or throw MailboxEntryError', () => {
		const seed = fuzzSeed(0x3a11_4001);
		const random = seededRandom(seed);
		// Seal nonces and part groups drawn from a seeded source, so that a seed replays the same entries.
		seedPlatformRandomness(seededRandom(seed ^ 0x5eed));
		const key = random.bytes(32);
		const associated = new TextEncoder().encode(ROOM);
		const plain = plains(random);
		const real = [
			sealMailboxEntry(key, ROOM, { kind: 'update', topic: 'chat/self/main', update: random.bytes(60) }),
			sealMailboxEntry(key, ROOM, { kind: 'introduction', introduction: random.bytes(200) }),
			...sealMailboxEntries(key, ROOM, { kind: 'update', topic: 'chat/a', update: random.bytes(700) }, 300)
		];
		let sealedWithKey = 0;
		const sealedPlain = (body: Uint8Array) => {
			sealedWithKey++;
			return seal(key, pad(body), associated);
		};
		const inputs = mixed(random, 12_000, [
			[2, (r) => mutate(r, r.pick(real), real)],
			[1, (r) => randomBytesInput(r, 300)],
			[5, (r) => sealedPlain(mutate(r, r.pick(plain), plain))],
			[1, (r) => sealedPlain(randomBytesInput(r, 200, [0, 1, 2, 3, 4]))],
			[1, (r) => sealedPlain(Uint8Array.from([r.pick([1, 3]), ...r.bytes(r.below(20)), ...varUint(r.pick([0, 1, 2, MAX_PARTS, MAX_PARTS + 1, 2 ** 32, 2 ** 53 - 1])), ...varUint(r.pick([2, MAX_PARTS, MAX_PARTS + 1, 2 ** 53 - 1]))]))],
			// The padding broken, or missing.
			[1, (r) => seal(key, r.chance(0.7) ? mutate(r, pad(r.pick(plain))) : r.pick(plain), associated)],
			[1, (r) => seal(key, pad(r.pick(plain)), new TextEncoder().encode(r.pick([ROOM.slice(1), `${ROOM}0`, ''])))]
		]);
		const parts: MailboxPart[] = [];
		const report = fuzz({
			suite: 'openMailboxEntry',
			seed,
			inputs,
			allowed: [MailboxEntryError, CryptoError],
			run: (sealed) => openMailboxEntry(key, ROOM, sealed),
			check: (value) => {
				const content = value as ReturnType<typeof openMailboxEntry>;
				if (content.kind === 'update') expect(content.topic.length >= 1 && content.topic.length <= MAX_TOPIC_LENGTH).toBe(true);
				else if (content.kind === 'introduction') expect(content.introduction.length).toBeLessThanOrEqual(MAX_INTRODUCTION_BYTES);
				else {
					expect(content.kind).toBe('part');
					expect(content.group).toMatch(/^[0-9a-f]{32}$/);
					expect(content.count >= 2 && content.count <= MAX_PARTS && content.index >= 0 && content.index < content.count).toBe(true);
					if (parts.length < 200) parts.push(content);
				}
			}
		});
		logReport('openMailboxEntry', report, `${sealedWithKey} plain texts behind a good seal`);
		expect(report.inputs).toBe(12_000);
		expect(sealedWithKey).toBeGreaterThan(6000);
		expect(report.accepted).toBeGreaterThan(1000);

		// Groups of the parts that came out, and of real parts, some complete, most not.
		const realParts = sealMailboxEntries(key, ROOM, { kind: 'update', topic: 'chat/b', update: random.bytes(500) }, 200).map(
			(entry) => openMailboxEntry(key, ROOM, entry) as MailboxPart
		);
		const pool = [...parts, ...realParts];
		const groups = mixed(random, 10_000, [
			[3, (r) => Array.from({ length: r.below(5) }, () => r.pick(pool))],
			[1, (r) => realParts.filter(() => r.chance(0.9)).sort(() => (r.chance(0.5) ? 1 : -1))],
			[1, (r) => realParts.map((part) => (r.chance(0.2) ? { ...part, bytes: mutate(r, part.bytes) } : part))]
		]);
		const joined = fuzz({
			suite: 'joinMailboxParts',
			seed,
			inputs: groups,
			allowed: [MailboxEntryError],
			show: (group) => JSON.stringify(group.map((part) => ({ ...part, bytes: Buffer.from(part.bytes).toString('hex') }))),
			run: joinMailboxParts,
			check: (value) => expect(['update', 'introduction']).toContain((value as { kind: string }).kind)
		});
		logReport('joinMailboxParts', joined);
		expect(joined.inputs).toBe(10_000);
		expect(joined.accepted).toBeGreaterThan(100);
	});
});
