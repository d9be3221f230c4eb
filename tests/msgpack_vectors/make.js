// Writes vectors.txt: values encoded by the real notepack.io (the msgpack codec that
// @socket.io/redis-adapter 8.x pins, ~3.0.1), for src/codec/msgpack's tests. Run:
//
//     node make.js [out]        (default: vectors.txt next to this script)
//
// tests/msgpack_vectors.rs runs it again and checks the output equals the committed file.
//
// Format: lines starting with `#` are comments; every other line is one vector,
//
//     <name> <bytes> <value>
//
// separated by single spaces (only <value> may contain spaces; it runs to the end of the line).
//
// <name>  [a-z0-9_]+, unique. A name ending in `_wraps` marks an integral number past the
//         64-bit ranges, which notepack writes in an integer form with its high word wrapped:
//         its bytes read back as another integer, whose own encoding may be shorter.
// <bytes> what notepack.encode() returned: lowercase hex, or for encodings of more than
//         MAX_HEX bytes `len=<n>,sha1=<40 hex digits>,head=<hex of the first 16 bytes>`.
// <value> what those bytes mean, as notepack.decode() reads them back, in one line of JSON
//         where every node is tagged:
//           ["nil"]                     nil
//           ["bool",true]               true or false
//           ["int","-33"]               an integer, in decimal (text: it may pass 2^53)
//           ["f64","0.5"]               a float 64, as JavaScript's shortest text for it
//                                       ("NaN", "Infinity" and "-Infinity" included)
//           ["str","text"]              a string
//           ["bin","00ff"]              bytes, in hex
//           ["ext",-1,"00000000"]       an extension: its type and its bytes in hex
//           ["array",[v,...]]           an array
//           ["map",[[k,v],...]]         a map, entries in order
//         and, for long values only, repetitions:
//           ["str*","ab",n]             "ab" n times
//           ["bin*","00ff",n]           those bytes n times
//           ["array*",[v,...],n]        those elements n times
//
// The values to encode are listed in CASES below; they cover every msgpack form notepack
// writes and every length boundary, and its quirks (integral numbers are never floats, even
// 1e300, whose integer form wraps; `undefined` is nil but drops out of objects; Dates are the
// timestamp extension -1).

'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const notepack = require('notepack.io');

const MAX_HEX = 1024;
const REPEAT_OVER = 64;

const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const bytes = (n, f) => Buffer.from(range(n, f));
const object = (n, key, value) => Object.fromEntries(range(n, (i) => [key(i), value(i)]));
const nested = (depth, inner) => (depth === 0 ? inner : [nested(depth - 1, inner)]);

const CASES = [
  // nil and booleans
  ['nil', null],
  ['undefined', undefined],
  ['false', false],
  ['true', true],
  // non-negative integers: fixint, uint 8/16/32/64
  ['int_0', 0],
  ['int_negative_zero', -0],
  ['int_1', 1],
  ['int_127', 127],
  ['int_128', 128],
  ['int_255', 255],
  ['int_256', 256],
  ['int_65535', 65535],
  ['int_65536', 65536],
  ['int_2p32_minus_1', 2 ** 32 - 1],
  ['int_2p32', 2 ** 32],
  ['int_2p53_minus_1', 2 ** 53 - 1],
  ['int_2p53', 2 ** 53],
  ['int_2p63', 2 ** 63],
  ['int_largest_below_2p64', 2 ** 64 - 2048],
  // negative integers: negative fixint, int 8/16/32/64
  ['int_minus_1', -1],
  ['int_minus_32', -32],
  ['int_minus_33', -33],
  ['int_minus_128', -128],
  ['int_minus_129', -129],
  ['int_minus_32768', -32768],
  ['int_minus_32769', -32769],
  ['int_minus_2p31', -(2 ** 31)],
  ['int_minus_2p31_minus_1', -(2 ** 31) - 1],
  ['int_minus_2p32', -(2 ** 32)],
  ['int_minus_2p53_plus_1', -(2 ** 53) + 1],
  ['int_minus_2p63', -(2 ** 63)],
  // non-integral and non-finite numbers: always float 64, never float 32
  ['float_0_5', 0.5],
  ['float_minus_1_5', -1.5],
  ['float_pi', Math.PI],
  ['float_1_1e_minus_300', 1.1e-300],
  ['float_smallest_subnormal', 5e-324],
  ['float_nan', NaN],
  ['float_infinity', Infinity],
  ['float_minus_infinity', -Infinity],
  // integral numbers past the 64-bit ranges: notepack still writes an integer form, whose high
  // word wraps (so 1e300 reads back as 0): a notepack quirk, kept here as notepack writes it
  ['float_1e300_wraps', 1e300],
  ['float_minus_1e300_wraps', -1e300],
  ['float_1e20_wraps', 1e20],
  ['float_2p64_wraps', 2 ** 64],
  ['float_minus_2p63_minus_4096_wraps', -(2 ** 63) - 4096],
  ['float_max_wraps', Number.MAX_VALUE],
  // strings: fixstr, str 8/16/32, lengths in UTF-8 bytes
  ['str_empty', ''],
  ['str_1', 'a'],
  ['str_31', 'a'.repeat(31)],
  ['str_32', 'a'.repeat(32)],
  ['str_255', 'a'.repeat(255)],
  ['str_256', 'a'.repeat(256)],
  ['str_65535', 'a'.repeat(65535)],
  ['str_65536', 'a'.repeat(65536)],
  ['str_utf8', 'h\u00e9llo w\u00f6rld \u2713 \u{1f600} \u4e2d\u6587'],
  ['str_31_bytes_multibyte', '\u20ac'.repeat(10) + 'a'],
  ['str_33_bytes_in_11_units', '\u20ac'.repeat(11)],
  ['str_emoji_40_units', '\u{1f600}'.repeat(20)],
  ['str_euro_300_bytes', '\u20ac'.repeat(100)],
  ['str_nul_and_controls', '\u0000\t\n\r"\\'],
  // binary: a Buffer is always bin 8/16/32 (never fixstr-sized forms), as are typed arrays
  ['bin_empty', Buffer.alloc(0)],
  ['bin_1', Buffer.from([0xff])],
  ['bin_255', bytes(255, (i) => i)],
  ['bin_256', bytes(256, (i) => i)],
  ['bin_65535', bytes(65535, () => 0xab)],
  ['bin_65536', bytes(65536, (i) => i % 256)],
  ['bin_uint8array', new Uint8Array([1, 2, 3])],
  ['bin_arraybuffer', new Uint8Array([4, 5]).buffer],
  // arrays: fixarray, array 16/32
  ['array_empty', []],
  ['array_1', [1]],
  ['array_15', range(15, (i) => i)],
  ['array_16', range(16, (i) => i)],
  ['array_65535', range(65535, () => null)],
  ['array_65536', range(65536, (i) => i % 16)],
  ['array_mixed', [null, true, -1, 0.25, 'x', Buffer.from([1]), [], {}]],
  ['array_undefined', [1, undefined, 2]],
  // maps: fixmap, map 16 (keys of JavaScript objects are strings, in Object.keys order)
  ['map_empty', {}],
  ['map_1', { a: 1 }],
  ['map_15', object(15, (i) => `k${i}`, (i) => i)],
  ['map_16', object(16, (i) => `k${i}`, (i) => i)],
  ['map_undefined_dropped', { a: undefined, b: 1, c: () => 0 }],
  ['map_utf8_keys', { '\u00e9': 1, '\u{1f600}': 2, ['k'.repeat(40)]: 3 }],
  // nesting
  ['nested_arrays', [[[]], [[1], [2, [3]]]]],
  ['nested_maps', { a: { b: { c: [1, { d: null }] } } }],
  ['nested_40', nested(40, 'deep')],
  // Dates: the timestamp extension (type -1) in its 32, 64 and 96-bit forms
  ['date_epoch', new Date(0)],
  ['date_ts32_max', new Date((2 ** 32 - 1) * 1000)],
  ['date_ts64_millis', new Date(1500)],
  ['date_ts64_past_ts32', new Date(2 ** 32 * 1000)],
  ['date_ts96_negative', new Date(-1)],
  ['date_ts96_past_ts64', new Date(2 ** 34 * 1000)],
  // toJSON is followed
  ['to_json', { toJSON: () => 'from toJSON' }],
  // messages of @socket.io/redis-adapter 8.x: [uid, packet, { rooms, except, flags }]
  ['redis_adapter_broadcast', [
    'uid123',
    { type: 2, data: ['message', { nick: 'a', text: 'hi' }], nsp: '/' },
    { rooms: ['lobby'], except: [], flags: {} },
  ]],
  ['redis_adapter_broadcast_binary', [
    'uid123',
    { type: 5, data: ['file', { name: 'a.bin', bytes: Buffer.from([0, 1, 2, 0xfe, 0xff]) }], nsp: '/' },
    { rooms: ['lobby'], except: [], flags: {} },
  ]],
  ['redis_adapter_broadcast_flags', [
    'Zx8Kf3',
    { type: 2, data: ['chat', 'caf\u00e9', 42, 1.5, null], nsp: '/chat' },
    { rooms: ['a', 'b'], except: ['sid-1'], flags: { volatile: true, compress: true } },
  ]],
];

const hex = (buf) => Buffer.from(buf).toString('hex');

// Elements of `items` (already described, as JSON texts) as [period, count] if they are a
// shorter run repeated, else null.
function period(items, maxPeriod) {
  if (items.length <= REPEAT_OVER) return null;
  for (let p = 1; p <= maxPeriod && p < items.length; p++) {
    if (items.length % p === 0 && items.every((x, i) => x === items[i % p])) {
      return [p, items.length / p];
    }
  }
  return null;
}

function describe(v) {
  if (v === null || v === undefined) return ['nil'];
  if (typeof v === 'boolean') return ['bool', v];
  if (typeof v === 'number') {
    return Number.isInteger(v) ? ['int', BigInt(v).toString()] : ['f64', String(v)];
  }
  if (typeof v === 'string') {
    const chars = Array.from(v);
    const run = period(chars, 16);
    return run ? ['str*', chars.slice(0, run[0]).join(''), run[1]] : ['str', v];
  }
  if (Buffer.isBuffer(v)) {
    const run = period(Array.from(v, String), 256);
    return run ? ['bin*', hex(v.subarray(0, run[0])), run[1]] : ['bin', hex(v)];
  }
  if (v instanceof Date) {
    // notepack reads the timestamp extension back as a Date: describe its bytes.
    const wire = notepack.encode(v);
    const header = wire[0] === 0xc7 ? 3 : 2;
    return ['ext', -1, hex(wire.subarray(header))];
  }
  if (Array.isArray(v)) {
    const items = v.map(describe);
    const run = period(items.map((x) => JSON.stringify(x)), 16);
    return run ? ['array*', items.slice(0, run[0]), run[1]] : ['array', items];
  }
  return ['map', Object.entries(v).map(([k, x]) => [describe(k), describe(x)])];
}

function line(name, value) {
  const wire = notepack.encode(value);
  const shown = wire.length > MAX_HEX
    ? `len=${wire.length},sha1=${crypto.createHash('sha1').update(wire).digest('hex')},head=${hex(wire.subarray(0, 16))}`
    : hex(wire);
  return `${name} ${shown} ${JSON.stringify(describe(notepack.decode(wire)))}`;
}

const names = new Set();
const out = [
  '# msgpack vectors written by notepack.io ' + require('notepack.io/package.json').version +
    ' (make.js documents the format); regenerate with `node make.js`',
];
for (const [name, value] of CASES) {
  if (!/^[a-z0-9_]+$/.test(name) || names.has(name)) throw new Error(`bad name ${name}`);
  names.add(name);
  out.push(line(name, value));
}
fs.writeFileSync(process.argv[2] || path.join(__dirname, 'vectors.txt'), out.join('\n') + '\n');
