{
  "format": "itb-library-signature/1",
  "library_sha256": "5dcc952b18c26af9d83233ac53e4d8296e24e6a916de66f9497041044b59a32f",
  "signer": "ITB programmer development release",
  "approved": "2026-12-03",
  "key_id": "df2f17cf96c2d719",
  "signature": "Fl/pUV1miZX/mt0xHb/CMEoqXFEKGTldCnx1SmjQCRKl7egYJ627t7Vv6pSOlFxU+2bUJb7Ud/ohxi4H1ANzAQ=="
}
