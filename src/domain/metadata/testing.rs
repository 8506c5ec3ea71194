//! Small files for the walkers' tests, built byte by byte: a marker to look for
//! (`MARK`), JPEG segments, PNG chunks, a TIFF with an orientation, ISO-BMFF
//! boxes and a whole HEIF with metadata items.

pub(super) const MARK: &[u8] = b"GPSMARKER";

pub(super) fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub(super) fn segment(marker: u8, contents: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((contents.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(contents);
    s
}

/// Big-endian TIFF with only IFD0 Orientation.
pub(super) fn tiff(orientation: u8) -> Vec<u8> {
    let mut t = b"MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
    t.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0]);
    t
}

pub(super) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&[0; 4]);
    c
}

pub(super) fn no_marker(bytes: Vec<u8>) -> Vec<u8> {
    bytes
        .into_iter()
        .map(|b| if b == b'G' { b'g' } else { b })
        .collect()
}

pub(super) fn bmff(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    [&((body.len() + 8) as u32).to_be_bytes()[..], kind, body].concat()
}

pub(super) fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    bmff(kind, &[&[version, 0, 0, 0][..], body].concat())
}

/// A HEIF with `items` (kind 0 image, 1 Exif, 2 mime XMP, 3 uri; in `idat`
/// or in `mdat`; payload length), laid out with the given box versions.
pub(super) fn heif(items: &[(u8, bool, usize)], iloc_version: u8, infe_version: u8, wide: bool) -> Vec<u8> {
    let payload = |kind: u8, len: usize| -> Vec<u8> {
        let fill = if kind == 0 { &b"IMAGEDATA"[..] } else { MARK };
        fill.iter().copied().cycle().take(len.max(fill.len())).collect()
    };
    let in_idat = |in_idat: bool| in_idat && iloc_version > 0;
    let idat: Vec<u8> = items
        .iter()
        .filter(|(_, i, _)| in_idat(*i))
        .flat_map(|(k, _, l)| payload(*k, *l))
        .collect();
    let mdat: Vec<u8> = items
        .iter()
        .filter(|(_, i, _)| !in_idat(*i))
        .flat_map(|(k, _, l)| payload(*k, *l))
        .collect();
    let build = |mdat_at: u64| -> Vec<u8> {
        let mut iinf = if infe_version == 2 {
            full_box(b"iinf", 0, &(items.len() as u16).to_be_bytes())
        } else {
            full_box(b"iinf", 1, &(items.len() as u32).to_be_bytes())
        };
        let mut entries = Vec::new();
        for (n, (kind, _, _)) in items.iter().enumerate() {
            let id = n as u32 + 1;
            let mut b = if infe_version == 2 {
                (id as u16).to_be_bytes().to_vec()
            } else {
                id.to_be_bytes().to_vec()
            };
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice([b"hvc1", b"Exif", b"mime", b"uri "][usize::from(*kind)]);
            b.extend_from_slice(b"\0application/rdf+xml\0");
            entries.extend(full_box(b"infe", infe_version, &b));
        }
        iinf = [&iinf[..8], &iinf[8..], &entries[..]].concat();
        let len = iinf.len() as u32;
        iinf[..4].copy_from_slice(&len.to_be_bytes());
        let size = if wide { 8u8 } else { 4 };
        let put = |b: &mut Vec<u8>, v: u64| {
            if wide {
                b.extend_from_slice(&v.to_be_bytes());
            } else {
                b.extend_from_slice(&(v as u32).to_be_bytes());
            }
        };
        let mut iloc = vec![(size << 4) | size, size << 4];
        if iloc_version < 2 {
            iloc.extend_from_slice(&(items.len() as u16).to_be_bytes());
        } else {
            iloc.extend_from_slice(&(items.len() as u32).to_be_bytes());
        }
        let (mut in_i, mut in_m) = (0u64, 0u64);
        for (n, (kind, i, l)) in items.iter().enumerate() {
            let id = n as u32 + 1;
            if iloc_version < 2 {
                iloc.extend_from_slice(&(id as u16).to_be_bytes());
            } else {
                iloc.extend_from_slice(&id.to_be_bytes());
            }
            let len = payload(*kind, *l).len() as u64;
            let idat_item = in_idat(*i);
            if iloc_version > 0 {
                iloc.extend_from_slice(&u16::from(idat_item).to_be_bytes());
            }
            iloc.extend_from_slice(&[0, 0]);
            // base offset, then one extent split in two halves.
            let start = if idat_item { in_i } else { mdat_at + in_m };
            put(&mut iloc, start);
            iloc.extend_from_slice(&2u16.to_be_bytes());
            put(&mut iloc, 0);
            put(&mut iloc, len / 2);
            put(&mut iloc, len / 2);
            put(&mut iloc, len - len / 2);
            if idat_item {
                in_i += len;
            } else {
                in_m += len;
            }
        }
        let children = [
            full_box(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0"),
            iinf,
            full_box(b"iloc", iloc_version, &iloc),
            bmff(b"idat", &idat),
        ]
        .concat();
        full_box(b"meta", 0, &children)
    };
    let ftyp = bmff(b"ftyp", b"heic\0\0\0\0mif1heic");
    let meta_len = build(0).len() as u64;
    let meta = build(ftyp.len() as u64 + meta_len + 8);
    [ftyp, meta, bmff(b"mdat", &mdat)].concat()
}
