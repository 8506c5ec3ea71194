//! Writes the metadata corpus of `tests/fixtures/images/`: small photos shaped
//! like what phones and editors write, each carrying `GPSMARKER-…` strings in
//! its GPS/XMP/comment fields. The tests send them through `/api/analyze` and
//! check that no marker reaches the (fake) Gemini and that the files still decode.
//!
//! `cargo run --example image_corpus` (deterministic: the same bytes every run).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

const SIDE: u16 = 32;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images");
    std::fs::create_dir_all(&dir).unwrap();
    let files: [(&str, Vec<u8>); 6] = [
        ("iphone.heic", iphone_heic()),
        ("samsung-mpf.jpg", samsung_mpf_jpeg()),
        ("photoshop-extended-xmp.jpg", photoshop_jpeg()),
        ("progressive-exif-between-scans.jpg", progressive_jpeg()),
        ("imagemagick-raw-profile.png", imagemagick_png()),
        ("exif-xmp.webp", webp()),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), &bytes).unwrap();
        println!("{name}: {} bytes", bytes.len());
    }
}

/// A gradient with a diagonal line: real pixels for the encoders.
fn pixels() -> Vec<u8> {
    let mut rgb = Vec::new();
    for y in 0..SIDE {
        for x in 0..SIDE {
            let line = if x == y { 255 } else { 0 };
            rgb.extend_from_slice(&[(x * 8) as u8, (y * 8) as u8, line]);
        }
    }
    rgb
}

/// A big-endian TIFF (EXIF) block: IFD0 with Orientation and a GPS IFD whose
/// GPSProcessingMethod carries `marker`, plus GPS latitude/longitude.
fn exif_tiff(orientation: u16, marker: &str) -> Vec<u8> {
    let method = format!("ASCII\0\0\0{marker}");
    let mut t = b"MM\0\x2A\0\0\0\x08".to_vec();
    // IFD0 at 8: two entries (Orientation, GPSInfo), next IFD 0.
    let ifd0_len = 2 + 2 * 12 + 4;
    let gps_at = 8 + ifd0_len as u32;
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0112, 3, 1, u32::from(orientation) << 16);
    entry(&mut t, 0x8825, 4, 1, gps_at);
    t.extend_from_slice(&0u32.to_be_bytes());
    // GPS IFD: LatitudeRef, Latitude, LongitudeRef, Longitude, ProcessingMethod.
    let gps_len = 2 + 5 * 12 + 4;
    let data_at = gps_at + gps_len as u32;
    t.extend_from_slice(&5u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_be_bytes(*b"N\0\0\0"));
    entry(&mut t, 0x0002, 5, 3, data_at);
    entry(&mut t, 0x0003, 2, 2, u32::from_be_bytes(*b"E\0\0\0"));
    entry(&mut t, 0x0004, 5, 3, data_at + 24);
    entry(&mut t, 0x001B, 7, method.len() as u32, data_at + 48);
    t.extend_from_slice(&0u32.to_be_bytes());
    for (num, den) in [(59, 1), (55, 1), (4800, 100), (30, 1), (18, 1), (3600, 100)] {
        t.extend_from_slice(&(num as u32).to_be_bytes());
        t.extend_from_slice(&(den as u32).to_be_bytes());
    }
    t.extend_from_slice(method.as_bytes());
    t
}

fn entry(t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32) {
    t.extend_from_slice(&tag.to_be_bytes());
    t.extend_from_slice(&kind.to_be_bytes());
    t.extend_from_slice(&count.to_be_bytes());
    t.extend_from_slice(&value.to_be_bytes());
}

fn xmp(marker: &str, extra: &str) -> String {
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
<rdf:Description xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\" \
exif:GPSLatitude=\"59,55.8N\" exif:GPSLongitude=\"30,18.6E\" exif:GPSAreaInformation=\"{marker}\"{extra}/>\
</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )
}

// ---- JPEG ----

fn jpeg(progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
    encoder.set_progressive(progressive);
    encoder
        .encode(&pixels(), SIDE, SIDE, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

fn segment(marker: u8, contents: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((contents.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(contents);
    s
}

fn app1_exif(orientation: u16, marker: &str) -> Vec<u8> {
    let mut c = b"Exif\0\0".to_vec();
    c.extend_from_slice(&exif_tiff(orientation, marker));
    segment(0xE1, &c)
}

/// Inserts segments right after the encoder's APP0 JFIF (after SOI when none).
fn after_app0(jpeg: &[u8], inserted: &[u8]) -> Vec<u8> {
    let at = if jpeg[2..4] == [0xFF, 0xE0] {
        4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]]))
    } else {
        2
    };
    [&jpeg[..at], inserted, &jpeg[at..]].concat()
}

/// Samsung-style: primary image with EXIF (orientation 6, GPS) and an APP2 MPF
/// index, followed after its EOI by a second JPEG with its own EXIF.
fn samsung_mpf_jpeg() -> Vec<u8> {
    let mut mpf = b"MPF\0MM\0\x2A\0\0\0\x08".to_vec();
    mpf.extend_from_slice(&[
        0, 1, 0xB0, 0, 0, 7, 0, 0, 0, 4, b'0', b'1', b'0', b'0', 0, 0, 0, 0,
    ]);
    let mut head = app1_exif(6, "GPSMARKER-SAMSUNG-PRIMARY-59.93N");
    head.extend(segment(0xE2, &mpf));
    let mut file = after_app0(&jpeg(false), &head);
    let secondary = after_app0(&jpeg(false), &app1_exif(1, "GPSMARKER-SAMSUNG-SECONDARY-30.31E"));
    file.extend(secondary);
    file
}

/// Photoshop-style: XMP, extended XMP (GUID, full length, offset), a Photoshop
/// IRB with IPTC, a comment, and an APP14 Adobe segment that must stay.
fn photoshop_jpeg() -> Vec<u8> {
    let guid = "0123456789ABCDEF0123456789ABCDEF";
    let standard = xmp(
        "GPSMARKER-PHOTOSHOP-XMP",
        &format!(" xmpNote:HasExtendedXMP=\"{guid}\""),
    );
    let mut seg = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    seg.extend_from_slice(standard.as_bytes());
    let mut head = segment(0xE1, &seg);
    let extended = xmp("GPSMARKER-PHOTOSHOP-EXTENDED-XMP", "");
    let mut seg = b"http://ns.adobe.com/xmp/extension/\0".to_vec();
    seg.extend_from_slice(guid.as_bytes());
    seg.extend_from_slice(&(extended.len() as u32).to_be_bytes());
    seg.extend_from_slice(&0u32.to_be_bytes());
    seg.extend_from_slice(extended.as_bytes());
    head.extend(segment(0xE1, &seg));
    let mut irb = b"Photoshop 3.0\08BIM\x04\x04\0\0".to_vec();
    let iptc = b"\x1c\x02\x5a\0\x1dGPSMARKER-PHOTOSHOP-IPTC-CITY";
    irb.extend_from_slice(&(iptc.len() as u32).to_be_bytes());
    irb.extend_from_slice(iptc);
    head.extend(segment(0xED, &irb));
    head.extend(segment(0xFE, b"GPSMARKER-PHOTOSHOP-COMMENT"));
    head.extend(segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01"));
    after_app0(&jpeg(false), &head)
}

/// A progressive JPEG with an EXIF APP1 and a comment between its first and
/// second scans (editors that append metadata late write this).
fn progressive_jpeg() -> Vec<u8> {
    let file = jpeg(true);
    let mut between = app1_exif(8, "GPSMARKER-PROGRESSIVE-BETWEEN-SCANS");
    between.extend(segment(0xFE, b"GPSMARKER-PROGRESSIVE-COMMENT"));
    // The second SOS: skip the first scan's entropy data.
    let first_sos = find(&file, &[0xFF, 0xDA]).unwrap();
    let mut at = first_sos + 2;
    loop {
        at += 1;
        if file[at] == 0xFF && file[at + 1] != 0 && !(0xD0..=0xD7).contains(&file[at + 1]) {
            break;
        }
    }
    assert_ne!(file[at + 1], 0xD9, "the encoder wrote one scan only");
    [&file[..at], &between[..], &file[at..]].concat()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---- PNG ----

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&crc32(&c[4..]).to_be_bytes());
    c
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// zlib with one stored (uncompressed) deflate block: the text stays readable,
/// so a leak is visible to a plain byte search.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut z = vec![0x78, 0x01, 0x01];
    let len = data.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    z
}

/// ImageMagick's `Raw profile type …`: a newline, the name, the length, and the
/// profile in lowercase hex, 72 digits a line.
fn raw_profile(name: &str, profile: &[u8]) -> String {
    let hex: Vec<String> = profile.iter().map(|b| format!("{b:02x}")).collect();
    let lines: Vec<String> = hex.chunks(36).map(|c| c.concat()).collect();
    format!("\n{name}\n{:8}\n{}\n", profile.len(), lines.join("\n"))
}

/// ImageMagick-style PNG: `Raw profile type exif` in tEXt (hex, as ImageMagick
/// writes it) and in zTXt, XMP in iTXt, a plain comment, `eXIf`, `tIME`, after
/// the colour chunks that must stay (gAMA, sRGB would conflict with iCCP, so gAMA).
fn imagemagick_png() -> Vec<u8> {
    let mut encoded = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut encoded),
        &pixels(),
        u32::from(SIDE),
        u32::from(SIDE),
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    // Split after IHDR (8 signature + 25 IHDR chunk).
    let (head, rest) = encoded.split_at(33);
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&exif_tiff(1, "GPSMARKER-IMAGEMAGICK-RAW-EXIF"));
    let mut chunks = png_chunk(b"gAMA", &45455u32.to_be_bytes());
    let mut text = b"Raw profile type exif\0".to_vec();
    text.extend_from_slice(raw_profile("exif", &exif).as_bytes());
    chunks.extend(png_chunk(b"tEXt", &text));
    let mut ztxt = b"Raw profile type xmp\0\0".to_vec();
    let xmp_profile = xmp("GPSMARKER-IMAGEMAGICK-ZTXT-XMP", "");
    ztxt.extend(zlib_stored(raw_profile("xmp", xmp_profile.as_bytes()).as_bytes()));
    chunks.extend(png_chunk(b"zTXt", &ztxt));
    let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    itxt.extend_from_slice(xmp("GPSMARKER-IMAGEMAGICK-ITXT-XMP", "").as_bytes());
    chunks.extend(png_chunk(b"iTXt", &itxt));
    chunks.extend(png_chunk(b"tEXt", b"Comment\0GPSMARKER-IMAGEMAGICK-COMMENT"));
    chunks.extend(png_chunk(
        b"eXIf",
        &exif_tiff(6, "GPSMARKER-IMAGEMAGICK-EXIF-CHUNK"),
    ));
    chunks.extend(png_chunk(b"tIME", &[0x07, 0xE9, 5, 17, 12, 0, 0]));
    [head, &chunks[..], rest].concat()
}

// ---- WebP ----

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = kind.to_vec();
    c.extend_from_slice(&(data.len() as u32).to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

/// An extended WebP (VP8X with the EXIF and XMP flags) with EXIF (orientation 6,
/// GPS) and XMP chunks after the lossless image data, as libwebp's `webpmux` writes.
fn webp() -> Vec<u8> {
    let mut simple = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::webp::WebPEncoder::new_lossless(&mut simple),
        &pixels(),
        u32::from(SIDE),
        u32::from(SIDE),
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    let image_chunk = &simple[12..];
    let mut vp8x = vec![0x0C, 0, 0, 0];
    for _ in 0..2 {
        vp8x.extend_from_slice(&(u32::from(SIDE) - 1).to_le_bytes()[..3]);
    }
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend_from_slice(image_chunk);
    body.extend(riff_chunk(b"EXIF", &exif_tiff(6, "GPSMARKER-WEBP-EXIF")));
    body.extend(riff_chunk(b"XMP ", xmp("GPSMARKER-WEBP-XMP", "").as_bytes()));
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend(body);
    file
}

// ---- HEIC ----

fn bmff(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![version, 0, 0, 0];
    b.extend_from_slice(body);
    bmff(kind, &b)
}

fn infe(id: u16, kind: &[u8; 4], name: &str, content_type: Option<&str>) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(kind);
    b.extend_from_slice(name.as_bytes());
    b.push(0);
    if let Some(t) = content_type {
        b.extend_from_slice(t.as_bytes());
        b.push(0);
    }
    full_box(b"infe", 2, &b)
}

/// iPhone-shaped HEIC: `ftyp heic`, a `meta` with hdlr/pitm/iinf (an `hvc1`
/// image, an `Exif` item with GPS and orientation, a `mime` XMP item)/iref/iloc/
/// iprp (ispe, irot), an `idat` holding the XMP (construction method 1) and an
/// `mdat` holding the image and the EXIF (method 0, file offsets). The `hvc1`
/// payload is a stand-in (no HEVC encoder is available here): the file is a
/// valid HEIF structure, not a picture an HEVC decoder can show.
fn iphone_heic() -> Vec<u8> {
    let ftyp = bmff(b"ftyp", b"heic\0\0\0\0mif1MiHEmiafheic");
    let hvc1_data = b"\0\0\0\x10(HEVC stand-in)".to_vec();
    let mut exif_item = 6u32.to_be_bytes().to_vec();
    exif_item.extend_from_slice(b"Exif\0\0");
    exif_item.extend(exif_tiff(6, "GPSMARKER-IPHONE-HEIC-EXIF-59.93N"));
    let xmp_item = xmp("GPSMARKER-IPHONE-HEIC-XMP", "").into_bytes();

    let build = |mdat_at: u32| -> Vec<u8> {
        let hdlr = full_box(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full_box(b"pitm", 0, &1u16.to_be_bytes());
        let mut iinf_body = 3u16.to_be_bytes().to_vec();
        iinf_body.extend(infe(1, b"hvc1", "", None));
        iinf_body.extend(infe(2, b"Exif", "", None));
        iinf_body.extend(infe(3, b"mime", "", Some("application/rdf+xml")));
        let iinf = full_box(b"iinf", 0, &iinf_body);
        let mut cdsc = 2u16.to_be_bytes().to_vec();
        cdsc.extend_from_slice(&1u16.to_be_bytes());
        cdsc.extend_from_slice(&1u16.to_be_bytes());
        let mut iref_body = bmff(b"cdsc", &cdsc);
        let mut cdsc3 = 3u16.to_be_bytes().to_vec();
        cdsc3.extend_from_slice(&1u16.to_be_bytes());
        cdsc3.extend_from_slice(&1u16.to_be_bytes());
        iref_body.extend(bmff(b"cdsc", &cdsc3));
        let iref = full_box(b"iref", 0, &iref_body);
        // iloc v1: offset 4, length 4, base offset 0, index 0.
        let mut iloc = vec![0x44, 0x00];
        iloc.extend_from_slice(&3u16.to_be_bytes());
        let extents = [
            (1u16, 0u16, mdat_at, hvc1_data.len() as u32),
            (2, 0, mdat_at + hvc1_data.len() as u32, exif_item.len() as u32),
            (3, 1, 0, xmp_item.len() as u32),
        ];
        for (id, method, offset, length) in extents {
            iloc.extend_from_slice(&id.to_be_bytes());
            iloc.extend_from_slice(&method.to_be_bytes());
            iloc.extend_from_slice(&0u16.to_be_bytes());
            iloc.extend_from_slice(&1u16.to_be_bytes());
            iloc.extend_from_slice(&offset.to_be_bytes());
            iloc.extend_from_slice(&length.to_be_bytes());
        }
        let iloc = full_box(b"iloc", 1, &iloc);
        let mut ispe = 32u32.to_be_bytes().to_vec();
        ispe.extend_from_slice(&32u32.to_be_bytes());
        let mut ipco = full_box(b"ispe", 0, &ispe);
        ipco.extend(bmff(b"irot", &[1]));
        let mut ipma = 1u32.to_be_bytes().to_vec();
        ipma.extend_from_slice(&1u16.to_be_bytes());
        ipma.extend_from_slice(&[2, 0x01, 0x82]);
        let mut iprp = bmff(b"ipco", &ipco);
        iprp.extend(full_box(b"ipma", 0, &ipma));
        let iprp = bmff(b"iprp", &iprp);
        let idat = bmff(b"idat", &xmp_item);
        let children = [hdlr, pitm, iinf, iref, iloc, iprp, idat].concat();
        full_box(b"meta", 0, &children)
    };
    // The mdat's payload starts after ftyp, meta and its own 8-byte header.
    let meta_len = build(0).len() as u32;
    let mdat_at = ftyp.len() as u32 + meta_len + 8;
    let meta = build(mdat_at);
    let mdat = bmff(b"mdat", &[hvc1_data, exif_item].concat());
    [ftyp, meta, mdat].concat()
}
