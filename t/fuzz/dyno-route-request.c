/* SPDX-License-Identifier: ISC */
/* libFuzzer harness: dyno-route's request/response parsers and chunk walker. */
#include <stdint.h>
#include <string.h>

#include "dyno-route-http.h"

static struct http_hdr hdrs[HTTP_MAX_HEADERS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct http_chunker ck;
	struct http_msg m;
	char dec[4096];
	size_t dl, n;
	ssize_t hl;
	int done;

	m.hdr = hdrs;
	hl = http_parse_request(p, size, &m);
	if (hl > 0 && (m.flags & HF_CHUNKED)) {
		memset(&ck, 0, sizeof(ck));
		n = size - (size_t)hl < sizeof(dec) ? size - (size_t)hl :
		    sizeof(dec);
		memcpy(dec, p + hl, n);
		(void)http_chunk_scan(&ck, dec, n, &done, dec, &dl);
	}
	m.hdr = hdrs;
	(void)http_parse_response(p, size, &m);
	return 0;
}
