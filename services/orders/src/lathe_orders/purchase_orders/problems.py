"""How purchase-order requests are refused: each stable code, its status and what it means
(documented on the routes that can refuse so: lathe_common.problem_docs)."""

from lathe_common.problem_docs import EVENT_TOO_LARGE, ProblemCode

PURCHASE_ORDER_NOT_FOUND = ProblemCode(404, "purchase_order_not_found", "no purchase order has that id or number")
LINE_NOT_FOUND = ProblemCode(404, "line_not_found", "the purchase order has no line with that number")
SUPPLIER_NOT_FOUND = ProblemCode(404, "supplier_not_found", "no supplier has that code")
INACTIVE_SUPPLIER = ProblemCode(422, "inactive_supplier", "the supplier is inactive")
UNKNOWN_CURRENCY = ProblemCode(422, "unknown_currency", "not an ISO 4217 currency with a minor unit")
AMOUNT_TOO_LARGE = ProblemCode(422, "amount_too_large", "the order's total would reach 10^16")
NO_LINES = ProblemCode(422, "no_lines", "the change would leave the order without lines")
INCOMPLETE_LINE = ProblemCode(422, "incomplete_line", "a new line (without line_no) lacks fields (`missing`)")
LINE_NOT_FOUND = ProblemCode(404, "line_not_found", "the order has no line with that number (`line_no`)")
LINE_NO_REQUIRED = ProblemCode(422, "line_no_required", "a line to remove is named by its `line_no`")
DUPLICATE_LINE = ProblemCode(422, "duplicate_line", "a line is named twice")
STALE_DOCUMENT = ProblemCode(412, "stale_document", "If-Match names an older version: read the order again")
PRECONDITION_REQUIRED = ProblemCode(428, "precondition_required", "no If-Match: send the ETag of the GET")
NOT_EDITABLE = ProblemCode(409, "not_editable", "the order is CLOSED or CANCELLED")
CHANGE_NOT_ALLOWED = ProblemCode(
    409, "change_not_allowed", "after submission only dates, notes, quantities and new lines change (`fields`)"
)
QUANTITY_BELOW_DONE = ProblemCode(409, "quantity_below_done", "a quantity below what was received and kept (`done`)")
LINE_CLOSED = ProblemCode(409, "line_closed", "the line is closed short")
INVALID_STATUS_TRANSITION = ProblemCode(
    409, "invalid_status_transition", "the order's status does not allow that move (`current_status`)"
)
FOUR_EYES = ProblemCode(403, "four_eyes", "the approver created the order and its total is above the threshold")
REASON_REQUIRED = ProblemCode(
    422, "reason_required", "closing with an open balance, or overriding four eyes, needs a reason"
)
HAS_MOVEMENTS = ProblemCode(409, "has_movements", "goods were received: close the order instead of cancelling")
NOT_A_DRAFT = ProblemCode(409, "not_a_draft", "only drafts are deleted")
ORDER_NOT_APPROVED = ProblemCode(409, "order_not_approved", "goods are received and lines closed on APPROVED orders")
OVER_RECEIPT = ProblemCode(409, "over_receipt", "beyond the ordered quantity plus the tolerance (`allowed`)")
OVER_RETURN = ProblemCode(409, "over_return", "more than was accepted and not yet returned (`returnable`)")
REJECTED_ABOVE_RECEIVED = ProblemCode(422, "rejected_above_received", "more rejected than received")
SERIAL_COUNT_MISMATCH = ProblemCode(422, "serial_count_mismatch", "serial numbers given, but not one per unit")
DUPLICATE_SERIAL = ProblemCode(422, "duplicate_serial", "a serial number is given twice")
SERIAL_NOT_RECEIVED = ProblemCode(422, "serial_not_received", "a serial number that did not come in on that line")
SERIAL_RETURNED = ProblemCode(409, "serial_returned", "a serial number was returned already")

PRECONDITIONS = (STALE_DOCUMENT, PRECONDITION_REQUIRED)
# What creating an order and changing one can be refused with.
PRICING = (SUPPLIER_NOT_FOUND, INACTIVE_SUPPLIER, UNKNOWN_CURRENCY, AMOUNT_TOO_LARGE, EVENT_TOO_LARGE)
CHANGING = (
    PURCHASE_ORDER_NOT_FOUND,
    *PRECONDITIONS,
    *PRICING,
    NOT_EDITABLE,
    CHANGE_NOT_ALLOWED,
    QUANTITY_BELOW_DONE,
    LINE_CLOSED,
    NO_LINES,
    INCOMPLETE_LINE,
    LINE_NOT_FOUND,
    LINE_NO_REQUIRED,
    DUPLICATE_LINE,
)
