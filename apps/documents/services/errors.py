"""Typed errors of the documents app. Request-time errors map to HTTP; pipeline errors end a document `failed`."""

from __future__ import annotations

from common.core.errors import DomainError, QuotaExceeded


class DocumentTooLarge(DomainError):
    code = "document_too_large"
    status_code = 413
    default_message = "The file is larger than the upload limit."


class UploadRequestTooLarge(DomainError):
    code = "request_too_large"
    status_code = 413
    default_message = "The request is larger than the files it may carry."


class TooManyFiles(DomainError):
    code = "too_many_files"
    status_code = 400
    default_message = "Too many files in one request."


class UnsupportedType(DomainError):
    code = "unsupported_type"
    status_code = 415
    default_message = "This file type is not supported (PDF, DOCX, HTML, Markdown, plain text, CSV)."


class DocumentQuotaExceeded(QuotaExceeded):
    code = "document_quota_exceeded"
    default_message = "The organization's document quota is used up."


class EmbeddingDimensionMismatch(DomainError):
    code = "embedding_dimension_mismatch"
    status_code = 409
    default_message = "The collection's embedding dimension does not match this deployment's."


class EmbeddingModelUnsupported(DomainError):
    code = "embedding_model_unsupported"
    status_code = 400
    default_message = "The embedding model cannot produce vectors of this deployment's dimension."


class DocumentNotReady(DomainError):
    code = "document_busy"
    status_code = 409
    default_message = "The document is being indexed."


class PipelineError(DomainError):
    """A document cannot be indexed for a reason the user can act on; it ends `failed` with this code."""

    code = "indexing_failed"
    status_code = 422
    default_message = "The document could not be indexed."


class EncryptedPdf(PipelineError):
    code = "encrypted_pdf"
    default_message = "The PDF is password-protected; upload a copy without a password."


class NoExtractableText(PipelineError):
    code = "no_extractable_text"
    default_message = (
        "No text could be extracted. A scanned PDF holds only images of pages: run OCR on it and upload the result."
    )


class CorruptFile(PipelineError):
    code = "corrupt_file"
    default_message = "The file is damaged or not what its content claims to be."


class ArchiveTooLarge(PipelineError):
    code = "archive_too_large"
    default_message = "The file expands to more data than allowed (a compressed archive bomb?)."


class UnsupportedContent(PipelineError):
    code = "unsupported_type"
    default_message = "The content type is not supported (PDF, DOCX, HTML, Markdown, plain text, CSV)."


class UrlBlocked(PipelineError):
    code = "url_blocked"
    default_message = "The URL points to a private, loopback, link-local or reserved address."


class UrlInvalid(PipelineError):
    code = "url_invalid"
    status_code = 400
    default_message = "The URL is not a valid http(s) URL."


class UrlTimeout(PipelineError):
    code = "url_timeout"
    default_message = "The URL did not answer in time."


class UrlTooLarge(PipelineError):
    code = "url_too_large"
    default_message = "The URL's content is larger than the upload limit."


class UrlFetchFailed(PipelineError):
    code = "url_fetch_failed"
    default_message = "The URL could not be fetched."


class StorageQuotaReached(PipelineError):
    code = "document_quota_exceeded"
    default_message = "The organization's storage quota is used up."


class EmbeddingFailed(PipelineError):
    code = "embedding_failed"
    default_message = "The embedding provider failed."


class IndexingAbandoned(PipelineError):
    code = "indexing_abandoned"
    default_message = "Indexing was interrupted too many times; reindex the document to try again."
