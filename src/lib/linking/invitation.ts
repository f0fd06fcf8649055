/**
 * The new device's side of linking: shows the invitation, waits for the primary, and adopts the
 * account only after its own user confirmed the code and the primary sent the signed device list.
 */
import { agree, generateAgreementKeyPair, randomBytes, toHex, type KeyPair } from '../crypto';
import { checkJoin } from '../identity/account-trust';
import { generateDeviceKeys, type DeviceKeys } from '../identity/device-keys';
import {
	deriveLinkChannel,
	encodeLinkPayload,
	LINK_BUNDLE,
	LINK_CONFIRM,
	LINK_DECLINE,
	LINK_DONE,
	LINK_FULL,
	LINK_OFFER,
	LINK_REFUSED,
	LINK_TTL_MS,
	LinkError,
	readBundle,
	readDecline,
	readTagged,
	writeDecline,
	writeRequest,
	writeSignal,
	writeTagged,
	type LinkChannel
} from '../protocol/link';
import type { DeviceKind } from '../protocol/trust';
import type { JoinedAccount } from '../session';
import type { Transport } from '../transport/types';
import type { Clock } from '../util/clock';
import { isFinished, LinkSide, type LinkState } from './state';

export class LinkInvitation extends LinkSide<{ state: LinkState; joined: JoinedAccount }> {
	readonly payload: string;
	readonly expiresAt: number;
	/** This device's own keys, made now; the primary lists it under the id they derive. */
	readonly deviceKeys: DeviceKeys = generateDeviceKeys();
	private readonly linkKeys: KeyPair = generateAgreementKeyPair();
	private readonly secret = randomBytes(16);
	private readonly room = randomBytes(16);
	private primaryPeer?: string;
	private channel?: LinkChannel;

	constructor(
		/** May change until the primary answers; it is sent then. */
		public deviceName: string,
		private readonly kind: DeviceKind,
		private readonly openTransport: (room: string) => Transport,
		private readonly clock: Clock
	) {
		super();
		this.expiresAt = Math.floor((clock() + LINK_TTL_MS) / 1000) * 1000;
		this.payload = encodeLinkPayload({ room: this.room, publicKey: this.linkKeys.publicKey, secret: this.secret, expiresAt: this.expiresAt });
		this.after(this.expiresAt - clock(), () => this.expire());
	}

	start(): void {
		const transport = this.openTransport(toHex(this.room));
		this.transport = transport;
		transport.on('message', ({ peer, data }) => this.receive(peer, data));
		transport.on('peer-disconnected', (peer) => {
			if (peer === this.primaryPeer && !isFinished(this.state)) this.finish({ kind: 'failed', error: 'disconnected' });
		});
		transport.connect();
	}

	/** The user saw the same code on both devices. */
	confirm(): void {
		if (this.state.kind !== 'confirm' || this.state.confirmed || !this.channel || this.primaryPeer === undefined) return;
		if (this.clock() > this.expiresAt) return this.expire();
		this.transport?.send(this.primaryPeer, writeSignal(LINK_CONFIRM, this.channel.key));
		this.setState({ ...this.state, confirmed: true });
	}

	/** The user said the codes differ, or left the screen. */
	cancel(): void {
		if (isFinished(this.state)) return;
		if (this.channel && this.primaryPeer !== undefined) this.transport?.send(this.primaryPeer, writeDecline(this.channel.key, 'declined'));
		this.finish({ kind: 'failed', error: 'declined' });
	}

	private expire(): void {
		if (isFinished(this.state)) return;
		if (this.channel && this.primaryPeer !== undefined) this.transport?.send(this.primaryPeer, writeDecline(this.channel.key, 'expired'));
		this.finish({ kind: 'failed', error: 'expired' });
	}

	private receive(peer: string, data: Uint8Array): void {
		if (isFinished(this.state)) return;
		try {
			if (data[0] === LINK_OFFER || data[0] === LINK_FULL) return this.receiveOffer(peer, data);
			if (peer !== this.primaryPeer || !this.channel) return;
			if (data[0] === LINK_BUNDLE) return this.receiveBundle(peer, data);
			if (data[0] === LINK_DECLINE) this.finish({ kind: 'failed', error: readDecline(this.channel.key, data) });
		} catch (error) {
			if (!(error instanceof LinkError)) throw error;
			this.finish({ kind: 'failed', error: error.code });
		}
	}

	private receiveOffer(peer: string, data: Uint8Array): void {
		const publicKeyP = readTagged(data, data[0]!, this.secret, this.linkKeys.publicKey);
		// Without the tag, the message is not from whoever scanned the code: ignored.
		if (!publicKeyP) return;
		if (this.primaryPeer !== undefined) {
			if (peer !== this.primaryPeer) this.transport?.send(peer, writeTagged(LINK_REFUSED, this.secret, publicKeyP, this.linkKeys.publicKey));
			return;
		}
		if (data[0] === LINK_FULL) return this.finish({ kind: 'failed', error: 'too-many-devices' });
		if (this.clock() > this.expiresAt) return this.expire();
		this.primaryPeer = peer;
		this.channel = deriveLinkChannel(agree(this.linkKeys.secretKey, publicKeyP), this.secret, this.linkKeys.publicKey, publicKeyP);
		this.transport?.send(
			peer,
			writeRequest(this.channel.key, {
				signKey: this.deviceKeys.signing.publicKey,
				agreeKey: this.deviceKeys.agreement.publicKey,
				kind: this.kind,
				name: this.deviceName
			})
		);
		this.setState({ kind: 'confirm', code: this.channel.code, deviceName: this.deviceName, confirmed: false });
	}

	private receiveBundle(peer: string, data: Uint8Array): void {
		const bundle = readBundle(this.channel!.key, data);
		// The primary sends the bundle only after this side confirmed; anything else is not the protocol.
		if (this.state.kind !== 'confirm' || !this.state.confirmed) throw new LinkError('tampered');
		if (this.clock() > this.expiresAt) return this.expire();
		// Everything this device will rely on is checked before it tells the primary it joined.
		try {
			checkJoin(this.deviceKeys, this.clock(), bundle.deviceList, bundle.heartbeat);
		} catch {
			throw new LinkError('tampered');
		}
		this.transport?.send(peer, writeSignal(LINK_DONE, this.channel!.key));
		this.emit('joined', { keys: this.deviceKeys, accountName: bundle.accountName, deviceList: bundle.deviceList, heartbeat: bundle.heartbeat });
		this.finish({ kind: 'linked', deviceName: this.deviceName });
	}
}
