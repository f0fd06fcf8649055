/**
 * Y4M videos for Chromium's fake camera (`--use-file-for-fake-video-capture`), made from a screenshot
 * of a QR code. Frames are 4:2:0 YUV, BT.601 studio range, as a camera delivers them.
 *
 * - `pngToY4m`: the picture scaled to fit and centred on white, upright: the easy case.
 * - `cameraSceneY4m`: what a phone held over another phone's screen sees: the code small in the
 *   frame, turned, with less contrast than on the screen, on a grey, uneven background, with sensor
 *   noise that differs from frame to frame.
 */
import { PNG } from 'pngjs';

const Y4M_FPS = 10;

/** Studio-range luma (16–235) of an RGBA pixel. */
function luma(data: Uint8Array, offset: number): number {
	return 16 + (65.481 * data[offset]! + 128.553 * data[offset + 1]! + 24.966 * data[offset + 2]!) / 255;
}

function y4m(width: number, height: number, frames: { luma: Uint8Array; chroma: Uint8Array }[]): Buffer {
	const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${Y4M_FPS}:1 Ip A1:1 C420jpeg\n`);
	return Buffer.concat([header, ...frames.flatMap((frame) => [Buffer.from('FRAME\n'), frame.luma, frame.chroma])]);
}

export function pngToY4m(png: Buffer, { width = 640, height = 480, fill = 0.85, frames = 2 } = {}): Buffer {
	const image = PNG.sync.read(png);
	const scale = Math.min((width * fill) / image.width, (height * fill) / image.height);
	const drawnWidth = Math.floor(image.width * scale);
	const drawnHeight = Math.floor(image.height * scale);
	const left = Math.floor((width - drawnWidth) / 2);
	const top = Math.floor((height - drawnHeight) / 2);
	const plane = new Uint8Array(width * height).fill(235);
	for (let y = 0; y < drawnHeight; y++) {
		for (let x = 0; x < drawnWidth; x++) {
			const source = (Math.floor(y / scale) * image.width + Math.floor(x / scale)) * 4;
			plane[(top + y) * width + left + x] = Math.round(luma(image.data, source));
		}
	}
	const chroma = new Uint8Array((width / 2) * (height / 2) * 2).fill(128);
	return y4m(width, height, Array.from({ length: frames }, () => ({ luma: plane, chroma })));
}

export interface SceneOptions {
	width?: number;
	height?: number;
	/** Height of the code's symbol (its dark modules, without the quiet zone) as a fraction of the frame height. */
	symbolHeight?: number;
	/** Clockwise turn of the code, in degrees. */
	angle?: number;
	/** Distinct frames; the camera plays them in a loop at 10 frames a second. */
	frames?: number;
	/** Standard deviation of the per-pixel noise, in luma steps. */
	noise?: number;
	seed?: number;
}

/** mulberry32: the same scene for the same seed. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** The bounds of the dark pixels of a picture: the QR symbol within its quiet zone. */
function symbolBounds(image: PNG): { left: number; top: number; right: number; bottom: number } {
	let [left, top, right, bottom] = [image.width, image.height, -1, -1];
	for (let y = 0; y < image.height; y++) {
		for (let x = 0; x < image.width; x++) {
			if (luma(image.data, (y * image.width + x) * 4) >= 128) continue;
			left = Math.min(left, x);
			right = Math.max(right, x);
			top = Math.min(top, y);
			bottom = Math.max(bottom, y);
		}
	}
	if (right < 0) throw new Error('The picture has no dark pixels: no QR code to film');
	return { left, top, right: right + 1, bottom: bottom + 1 };
}

export function cameraSceneY4m(
	png: Buffer,
	{ width = 1280, height = 720, symbolHeight = 0.3, angle = 25, frames = 6, noise = 6, seed = 1 }: SceneOptions = {}
): Buffer {
	const image = PNG.sync.read(png);
	const bounds = symbolBounds(image);
	const scale = (symbolHeight * height) / (bounds.bottom - bounds.top);
	// The code's centre sits a little off the frame's centre, as a hand holds it.
	const [centreX, centreY] = [width * 0.54, height * 0.47];
	const [sourceX, sourceY] = [(bounds.left + bounds.right) / 2, (bounds.top + bounds.bottom) / 2];
	const [cos, sin] = [Math.cos((angle * Math.PI) / 180), Math.sin((angle * Math.PI) / 180)];
	const sourceLuma = new Float32Array(image.width * image.height);
	for (let i = 0; i < sourceLuma.length; i++) sourceLuma[i] = luma(image.data, i * 4);
	const sample = (x: number, y: number): number => {
		const [x0, y0] = [Math.floor(x), Math.floor(y)];
		const [fx, fy] = [x - x0, y - y0];
		const at = (px: number, py: number) =>
			sourceLuma[Math.min(image.height - 1, Math.max(0, py)) * image.width + Math.min(image.width - 1, Math.max(0, px))]!;
		return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
	};

	// The picture without noise: the screen (dimmed: its white is not the brightest thing a camera
	// sees, its black not the darkest) on a desk of uneven grey.
	const base = new Float32Array(width * height);
	const onScreen = new Uint8Array(width * height);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const [dx, dy] = [x + 0.5 - centreX, y + 0.5 - centreY];
			const sx = (cos * dx + sin * dy) / scale + sourceX;
			const sy = (-sin * dx + cos * dy) / scale + sourceY;
			const index = y * width + x;
			if (sx >= 0 && sy >= 0 && sx < image.width && sy < image.height) {
				base[index] = 50 + ((sample(sx - 0.5, sy - 0.5) - 16) * (196 - 50)) / (235 - 16);
				onScreen[index] = 1;
			} else {
				base[index] = 105 + (40 * x) / width - (25 * y) / height + 12 * Math.sin(x / 37) * Math.cos(y / 53) + 6 * Math.sin((x + 2 * y) / 11);
			}
		}
	}
	const next = random(seed);
	// Sum of three uniforms: near enough to Gaussian noise of the given deviation.
	const gaussian = () => (next() + next() + next() - 1.5) * 2 * noise;
	const chroma = new Uint8Array((width / 2) * (height / 2) * 2);
	const quarter = (width / 2) * (height / 2);
	for (let y = 0; y < height / 2; y++) {
		for (let x = 0; x < width / 2; x++) {
			// The desk is a warm grey; the screen has no colour.
			const screen = onScreen[2 * y * width + 2 * x] === 1;
			chroma[y * (width / 2) + x] = screen ? 128 : 120;
			chroma[quarter + y * (width / 2) + x] = screen ? 128 : 137;
		}
	}
	return y4m(
		width,
		height,
		Array.from({ length: frames }, () => {
			const plane = new Uint8Array(width * height);
			for (let i = 0; i < plane.length; i++) plane[i] = Math.min(235, Math.max(16, Math.round(base[i]! + gaussian())));
			return { luma: plane, chroma };
		})
	);
}
