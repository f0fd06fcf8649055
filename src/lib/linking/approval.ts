/**
 * The primary's side of linking: answers an invitation its user scanned or pasted, and hands over
 * the account once both users confirmed the same code. Opening a link never creates one of these.
 */
import { agree, generateAgreementKeyPair, toHex, type KeyPair } from '../crypto';
import { LinkRefusal } from '../identity/account-trust';
import {
	decodeLinkPayload,
	deriveLinkChannel,
	LINK_CONFIRM,
	LINK_DECLINE,
	LINK_DONE,
	LINK_FULL,
	LINK_OFFER,
	LINK_REFUSED,
	LINK_REQUEST,
	LinkError,
	readDecline,
	readRequest,
	readSignal,
	readTagged,
	writeBundle,
	writeDecline,
	writeTagged,
	type LinkChannel,
	type LinkPayload,
	type LinkRequest
} from '../protocol/link';
import type { LinkAuthority } from '../session';
import type { Transport } from '../transport/types';
import type { Clock } from '../util/clock';
import { closeSoon, isFinished, LINK_ANSWER_TIMEOUT_MS, LinkSide, type LinkState } from './state';

export class LinkApproval extends LinkSide<{ state: LinkState }> {
	private readonly linkKeys: KeyPair = generateAgreementKeyPair();
	private peer?: string;
	private channel?: LinkChannel;
	private request?: LinkRequest;
	private newDeviceConfirmed = false;
	private userConfirmed = false;
	/** The device put on the list, once the bundle went out. */
	private linkedId?: string;
	private readonly payload: LinkPayload;
	private readonly full: boolean;

	/** Throws LinkError at once for a payload that is not ours or has expired, or on a companion. */
	constructor(
		text: string,
		private readonly authority: LinkAuthority,
		private readonly openTransport: (room: string) => Transport,
		private readonly clock: Clock
	) {
		super();
		this.payload = decodeLinkPayload(text);
		if (this.payload.expiresAt <= clock()) throw new LinkError('expired');
		if (!authority.isPrimary) throw new LinkError('not-primary');
		this.full = authority.isFull;
	}

	start(): void {
		const transport = this.openTransport(toHex(this.payload.room));
		this.transport = transport;
		transport.on('peer-connected', (peer) => {
			if (this.full) {
				// A full account tells the new device so before anything else is sent, then leaves.
				transport.send(peer, writeTagged(LINK_FULL, this.payload.secret, this.linkKeys.publicKey, this.payload.publicKey));
				closeSoon(transport);
				return;
			}
			if (this.peer !== undefined) return;
			transport.send(peer, writeTagged(LINK_OFFER, this.payload.secret, this.linkKeys.publicKey, this.payload.publicKey));
		});
		transport.on('peer-disconnected', (peer) => {
			if (peer === this.peer && !isFinished(this.state)) this.finish({ kind: 'failed', error: 'disconnected' });
		});
		transport.on('message', ({ peer, data }) => this.receive(peer, data));
		transport.connect();
		if (this.full) {
			this.setState({ kind: 'failed', error: 'too-many-devices' });
			// Stays in the room until the new device was told, or for as long as it would wait for an answer.
			this.after(LINK_ANSWER_TIMEOUT_MS, () => transport.close());
			return;
		}
		this.after(LINK_ANSWER_TIMEOUT_MS, () => {
			if (this.state.kind === 'waiting') this.finish({ kind: 'failed', error: 'unanswered' });
		});
		this.after(this.payload.expiresAt - this.clock(), () => this.expire());
	}

	/** The user saw the same code on both devices. */
	confirm(): void {
		if (this.state.kind !== 'confirm' || this.state.confirmed) return;
		this.userConfirmed = true;
		this.setState({ ...this.state, confirmed: true });
		this.handOver();
	}

	decline(): void {
		if (isFinished(this.state)) return;
		this.send((key) => writeDecline(key, 'declined'));
		this.finish({ kind: 'failed', error: 'declined' });
	}

	private expire(): void {
		if (isFinished(this.state)) return;
		this.send((key) => writeDecline(key, 'expired'));
		this.finish({ kind: 'failed', error: 'expired' });
	}

	/** Sends the account once both users confirmed, within the invitation's lifetime. */
	private handOver(): void {
		if (!this.userConfirmed || !this.newDeviceConfirmed || !this.request || this.linkedId) return;
		if (this.clock() > this.payload.expiresAt) return this.expire();
		let linked;
		try {
			linked = this.authority.linkDevice(this.request);
		} catch (error) {
			if (!(error instanceof LinkRefusal)) throw error;
			const reason = error.code === 'too-many-devices' ? 'too-many-devices' : 'declined';
			this.send((key) => writeDecline(key, reason));
			this.finish({ kind: 'failed', error: reason === 'too-many-devices' ? reason : 'tampered' });
			return;
		}
		this.linkedId = linked.device.id;
		const bundle = { accountName: this.authority.accountName, deviceList: linked.deviceList, heartbeat: this.authority.freshHeartbeat() };
		this.send((key) => writeBundle(key, bundle));
	}

	private receive(peer: string, data: Uint8Array): void {
		if (isFinished(this.state)) return;
		try {
			if (data[0] === LINK_REFUSED) {
				// The tag proves knowledge of the code's secret (the new device, or whoever saw its QR code):
				// without it, the server or a stranger in the room cannot end this link.
				if (this.peer === undefined && readTagged(data, LINK_REFUSED, this.payload.secret, this.payload.publicKey)) {
					this.finish({ kind: 'failed', error: 'used' });
				}
				return;
			}
			if (data[0] === LINK_REQUEST && this.peer === undefined) {
				const channel = deriveLinkChannel(agree(this.linkKeys.secretKey, this.payload.publicKey), this.payload.secret, this.payload.publicKey, this.linkKeys.publicKey);
				this.request = readRequest(channel.key, data);
				this.peer = peer;
				this.channel = channel;
				this.setState({ kind: 'confirm', code: channel.code, deviceName: this.request.name, confirmed: false });
				return;
			}
			if (peer !== this.peer || !this.channel) return;
			if (data[0] === LINK_CONFIRM) {
				readSignal(LINK_CONFIRM, this.channel.key, data);
				this.newDeviceConfirmed = true;
				this.handOver();
			} else if (data[0] === LINK_DONE && this.linkedId) {
				readSignal(LINK_DONE, this.channel.key, data);
				this.finish({ kind: 'linked', deviceName: this.request!.name });
			} else if (data[0] === LINK_DECLINE) {
				this.finish({ kind: 'failed', error: readDecline(this.channel.key, data) });
			}
		} catch (error) {
			if (!(error instanceof LinkError)) throw error;
			// Before a channel exists, garbage may come from anyone in the room; the real device may still answer.
			if (this.channel && peer === this.peer) this.finish({ kind: 'failed', error: 'tampered' });
		}
	}

	/**
	 * A link that fails after the new device was put on the list takes it off again (a new key
	 * epoch): whatever the new device received, it is not a device of the account.
	 */
	protected override finish(state: LinkState): void {
		if (state.kind === 'failed' && this.linkedId) {
			const id = this.linkedId;
			this.linkedId = undefined;
			this.authority.removeDevice(id);
		}
		super.finish(state);
	}

	private send(write: (key: Uint8Array) => Uint8Array): void {
		if (this.channel && this.peer !== undefined) this.transport?.send(this.peer, write(this.channel.key));
	}
}
