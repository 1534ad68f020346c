"""The rules of carts, coupons and checkouts. Prices are always asked of the catalog at the
moment they are needed.

What a request needs of other services is asked before any write begins (on SQLite a write
holds the service's one writer, which must never wait on another service), and once: the
catalog once for every line, purchases once per future owner (`lookups.learn`). The write
that follows works on the cart as it is then (the player may have changed it meanwhile, in
another tab), and the answer is built from what was asked and written, not read back.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.clients import side_by_side
from lugx.platform.db import Database
from lugx.platform.db.sql import insert_new
from lugx.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from lugx.platform.service import ServiceContext
from lugx.services.catalog.schemas import Sellable
from lugx.services.shopping import lookups
from lugx.services.shopping import repository as repo
from lugx.services.shopping.lookups import Known
from lugx.services.shopping.models import Cart, CartItem, Checkout, Coupon, CouponUse
from lugx.services.shopping.pricing import (
    REASONS,
    CouponOutcome,
    PricedLine,
    Quote,
    apply_coupon,
    bundle_quote,
    usd,
)
from lugx.services.shopping.schemas import (
    CartItemAdd,
    CartLine,
    CartRead,
    CheckoutCoupon,
    CheckoutLine,
    CheckoutRead,
    CouponCreate,
    CouponState,
)

MAX_CART_ITEMS = 100
# A checkout's hold on its cart lapses after this long if its order never settles (the order
# was never written, say): the player may then check out again.
CHECKOUT_HOLD = timedelta(minutes=30)

CartCoupon = tuple[Coupon, int]  # the cart's coupon and how many times its user used it


# --- pricing a cart -------------------------------------------------------------------------


def _asks(user_id: uuid.UUID, items: list[CartItem]) -> list[lookups.Line]:
    """What to ask about each line: its app, for its future owner (a line's type never
    changes, so a stored "bundle" is one)."""
    return [
        lookups.Line(item.app_id, item.recipient_id or user_id, item.type == "bundle")
        for item in items
    ]


async def learn(
    ctx: ServiceContext,
    user_id: uuid.UUID,
    items: list[CartItem],
    known: Known | None = None,
    *,
    owned_for_bundles_only: bool = False,
) -> Known:
    """What pricing these lines needs, asked of the catalog and purchases; what `known` says
    already is not asked again (see lookups.learn for `owned_for_bundles_only`)."""
    return await lookups.learn(
        ctx, _asks(user_id, items), known, owned_for_bundles_only=owned_for_bundles_only
    )


def _quote(item: Sellable | None, owned: set[int], known: Known) -> tuple[Quote | None, bool]:
    """A line's price now and whether its future owner has it all already."""
    if item is None or item.status != "published":
        return None, False
    if item.type != "bundle":
        return Quote(item.price.amount, item.final_price.amount, item.discount_percent), False
    contents = [known.items.get(app_id) for app_id in item.bundle_items]
    missing = [c for c in contents if c and c.status == "published" and c.app_id not in owned]
    finals = [c.final_price.amount for c in missing]
    return bundle_quote(finals, item.bundle_discount_percent, item.discount_percent), not missing


def price_lines(user_id: uuid.UUID, items: list[CartItem], known: Known) -> list[PricedLine]:
    """Each line priced by what the catalog said (`learn`). A bundle is priced "complete the
    set" for whoever will own it, by the catalog's rule (pricing.bundle_quote)."""
    lines = []
    for item in items:
        mine = known.owned_by(item.recipient_id or user_id)
        quote, has_all = _quote(known.items.get(item.app_id), mine, known)
        lines.append(
            PricedLine(
                app_id=item.app_id,
                title=item.title,
                type=item.type,
                header_image=item.header_image,
                recipient_id=item.recipient_id,
                quote=quote,
                owned=item.app_id in mine or has_all,
            )
        )
    return lines


async def _coupon_of(session: AsyncSession, cart: Cart | None) -> CartCoupon | None:
    if cart is None or cart.coupon_code is None:
        return None
    return await repo.coupon_and_uses(session, cart.coupon_code, cart.user_id)


def _cart_line(line: PricedLine) -> CartLine:
    quote = line.quote or Quote(0, 0, 0)
    return CartLine(
        app_id=line.app_id,
        title=line.title,
        type=line.type,
        header_image=line.header_image,
        recipient_id=line.recipient_id,
        price=usd(quote.price),
        final_price=usd(quote.final),
        discount_percent=quote.discount_percent,
        available=line.quote is not None,
        owned=line.owned,
    )


def _coupon_state(coupon: Coupon, outcome: CouponOutcome) -> CouponState:
    return CouponState(
        code=coupon.code,
        percent=coupon.percent,
        amount=usd(coupon.amount) if coupon.amount is not None else None,
        applied=outcome.applied,
        reason=REASONS[outcome.reason] if outcome.reason else None,
        discount=usd(outcome.discount),
    )


def cart_read(
    cart: Cart | None, lines: list[PricedLine], coupon: CartCoupon | None, now: datetime
) -> CartRead:
    """The cart as the player sees it. Lines no longer for sale or already owned are shown but
    not counted."""
    outcome = apply_coupon(coupon[0], lines, now, coupon[1]) if coupon else None
    subtotal = sum(line.quote.final for line in lines if line.sellable and line.quote)
    off = outcome.discount if outcome else 0
    return CartRead(
        items=[_cart_line(line) for line in lines],
        subtotal=usd(subtotal),
        discount=usd(off),
        coupon=_coupon_state(coupon[0], outcome) if coupon and outcome else None,
        total=usd(subtotal - off),
        currency="USD",
        checkout_in_progress=cart is not None
        and cart.checkout_order_id is not None
        and cart.checkout_started_at is not None
        and cart.checkout_started_at >= now - CHECKOUT_HOLD,
    )


async def view_cart(
    session: AsyncSession, ctx: ServiceContext, user_id: uuid.UUID, now: datetime
) -> CartRead:
    """The cart now: its lines read at once, then the catalog, purchases and the coupon asked
    side by side."""
    cart, items = await repo.cart_with_items(session, user_id)
    known, coupon = await side_by_side(
        ctx.remote("catalog", "purchases"), learn(ctx, user_id, items), _coupon_of(session, cart)
    )
    return cart_read(cart, price_lines(user_id, items, known), coupon, now)


async def _view_after_write(
    ctx: ServiceContext,
    user_id: uuid.UUID,
    cart: Cart,
    items: list[CartItem],
    known: Known,
    coupon: CartCoupon | None,
    now: datetime,
) -> CartRead:
    """The cart a write left, priced by what was learnt before it; only what changed meanwhile
    (another tab's line, another coupon) is asked or read again."""
    known = await learn(ctx, user_id, items, known)  # asks nothing if the lines are the same
    if cart.coupon_code != (coupon[0].code if coupon else None):
        async with ctx.db.session(write=False) as session:
            coupon = await _coupon_of(session, cart)
    return cart_read(cart, price_lines(user_id, items, known), coupon, now)


# --- changing a cart ------------------------------------------------------------------------


def _refuse_self_gift(principal: Principal, body: CartItemAdd) -> None:
    if body.gift_for == principal.user_id:
        raise ValidationFailed(
            "A gift is for someone else; add the game without gift_for to buy it for yourself",
            errors=[{"field": "gift_for", "message": "that is you"}],
        )


async def _learn_addition(
    ctx: ServiceContext, principal: Principal, body: CartItemAdd, items: list[CartItem]
) -> tuple[Known, bool]:
    """What the catalog and purchases say of the cart with the new line, and whether the gift's
    recipient (if any) exists, asked side by side."""
    adding = lookups.Line(body.app_id, body.gift_for or principal.user_id, None)
    learning = lookups.learn(ctx, [*_asks(principal.user_id, items), adding])
    if body.gift_for is None:
        return await learning, True
    known, exists = await side_by_side(
        ctx.remote("catalog", "purchases", "users"),
        learning,
        lookups.user_exists(ctx, body.gift_for),
    )
    return known, exists


def _vetted(known: Known, body: CartItemAdd, owner: uuid.UUID, recipient_exists: bool) -> Sellable:
    """The game to add, if it may be: for sale, to someone who exists, who does not own it."""
    game = lookups.for_sale(known.items, body.app_id)
    if not recipient_exists:
        raise NotFound("No such user to send a gift to", code="recipient-not-found")
    owned = known.owned_by(owner)
    contents = game.bundle_items if game.type == "bundle" else []
    if game.app_id in owned or (contents and owned.issuperset(contents)):
        who = "The recipient owns" if body.gift_for else "You own"
        raise Conflict(f"{who} {game.title} already", code="already-owned")
    return game


async def add_to_cart(
    ctx: ServiceContext, principal: Principal, body: CartItemAdd, now: datetime
) -> CartRead:
    """Add a game to the caller's cart and answer with the cart: read it, ask the catalog and
    purchases about it and the game (once), then one short write and a read of what it left."""
    _refuse_self_gift(principal, body)
    user_id = principal.user_id
    async with ctx.db.session(write=False) as session:
        cart, items = await repo.cart_with_items(session, user_id)
        coupon = await _coupon_of(session, cart)
    known, recipient_exists = await _learn_addition(ctx, principal, body, items)
    game = _vetted(known, body, body.gift_for or user_id, recipient_exists)
    cart, items = await add_item(ctx.db, user_id, cart, items, body, game)
    return await _view_after_write(ctx, user_id, cart, items, known, coupon, now)


async def add_item(
    db: Database,
    user_id: uuid.UUID,
    cart: Cart | None,
    items: list[CartItem],
    body: CartItemAdd,
    game: Sellable,
) -> tuple[Cart, list[CartItem]]:
    """Put a vetted game in the user's cart, as read just before (`cart`, `items`); the cart and
    its lines now. A cart that exists takes the line in one statement, its own transaction (on
    PostgreSQL one round trip instead of four), which counts the lines as it inserts; the cart's
    unique line per app refuses a racing twin."""
    full = Conflict(f"A cart holds at most {MAX_CART_ITEMS} items", code="cart-full")
    if len(items) >= MAX_CART_ITEMS:
        raise full
    try:
        async with db.session(write=True, single=cart is not None) as session:
            if cart is None:
                cart = await repo.ensure_cart(session, user_id)  # or a racing first add's
            added = await repo.add_line_if_room(session, _line(cart, body, game), MAX_CART_ITEMS)
    except IntegrityError:  # the same add, racing (or another tab's): the other one won
        raise Conflict(f"{game.title} is in your cart already", code="already-in-cart") from None
    if not added:
        raise full
    async with db.session(write=False) as session:
        now_cart, now_items = await repo.cart_with_items(session, user_id)
    assert now_cart is not None, "a cart is never deleted"
    return now_cart, now_items


def _line(cart: Cart, body: CartItemAdd, game: Sellable) -> CartItem:
    return CartItem(
        cart_id=cart.id,
        app_id=game.app_id,
        recipient_id=body.gift_for,
        title=game.title,
        type=game.type,
        header_image=game.header_image,
    )


async def remove_item(session: AsyncSession, user_id: uuid.UUID, app_id: int) -> None:
    if not await repo.remove_line(session, user_id, app_id):
        raise NotFound(f"app_id {app_id} is not in your cart", code="not-in-cart")


async def apply_code(ctx: ServiceContext, user_id: uuid.UUID, code: str, now: datetime) -> CartRead:
    """Put a coupon on the cart, if it would take something off it now, and answer with the
    cart. The cart is priced once (other services asked) between a read and the short write
    that keeps the code."""
    async with ctx.db.session(write=False) as session:
        coupon = await repo.coupon_and_uses(session, code, user_id)
        if coupon is None:
            raise NotFound("No such coupon", code="coupon-not-found")
        cart, items = await repo.cart_with_items(session, user_id)
    known = await learn(ctx, user_id, items)
    outcome = apply_coupon(coupon[0], price_lines(user_id, items, known), now, coupon[1])
    if outcome.reason is not None:
        raise Conflict(REASONS[outcome.reason], code=f"coupon-{outcome.reason}")
    async with ctx.db.session() as session:
        cart, items = await repo.cart_with_items(session, user_id)
        if cart is None:
            cart = await repo.ensure_cart(session, user_id)
        await repo.set_coupon(session, cart, coupon[0].code)
    return await _view_after_write(ctx, user_id, cart, items, known, coupon, now)


async def remove_code(session: AsyncSession, user_id: uuid.UUID) -> None:
    cart = await repo.cart_of(session, user_id)
    if cart is None or cart.coupon_code is None:
        raise NotFound("There is no coupon on your cart", code="no-coupon")
    cart.coupon_code = None
    await session.flush()


# --- checkout -------------------------------------------------------------------------------


def _refuse_unsellable(lines: list[PricedLine]) -> None:
    gone = [line.title for line in lines if line.quote is None]
    if gone:
        raise Conflict(
            f"No longer for sale: {', '.join(gone)}. Remove it from your cart",
            code="not-for-sale",
        )
    owned = [line.title for line in lines if line.owned]
    if owned:
        raise Conflict(
            f"Already owned: {', '.join(owned)}. Remove it from your cart", code="already-owned"
        )


def _snapshot(
    user_id: uuid.UUID,
    order_id: uuid.UUID,
    lines: list[PricedLine],
    outcome: CouponOutcome | None,
    now: datetime,
) -> CheckoutRead:
    shares = outcome.shares if outcome and outcome.applied else {}
    items = []
    for line in lines:
        assert line.quote is not None
        off = shares.get(line.app_id, 0)
        items.append(
            CheckoutLine(
                app_id=line.app_id,
                title=line.title,
                type=line.type,
                recipient_id=line.recipient_id,
                price=usd(line.quote.price),
                final_price=usd(line.quote.final),
                discount_percent=line.quote.discount_percent,
                coupon_discount=usd(off),
                amount_due=usd(line.quote.final - off),
            )
        )
    subtotal = sum(item.final_price.amount for item in items)
    off_total = sum(shares.values())
    return CheckoutRead(
        order_id=order_id,
        user_id=user_id,
        items=items,
        subtotal=usd(subtotal),
        discount=usd(off_total),
        coupon=CheckoutCoupon(code=outcome.code, discount=usd(off_total))
        if outcome and shares
        else None,
        total=usd(subtotal - off_total),
        currency="USD",
        created_at=now,
    )


def _frozen(done: Checkout, user_id: uuid.UUID) -> CheckoutRead:
    """The snapshot recorded for an order (a retry gets the same one)."""
    if done.user_id != user_id:
        raise Conflict("That order id belongs to another checkout", code="order-id-taken")
    if not done.snapshot:
        raise Conflict("That order is settled already", code="order-settled")
    return CheckoutRead.model_validate(done.snapshot)


async def _reserve(
    session: AsyncSession, coupon: Coupon, user_id: uuid.UUID, order_id: uuid.UUID, off: int
) -> None:
    if not await repo.take_use(session, coupon.id):
        raise Conflict(REASONS["used-up"], code="coupon-used-up")
    session.add(CouponUse(coupon_id=coupon.id, order_id=order_id, user_id=user_id, discount=off))


def _same_lines(before: list[CartItem], now: list[CartItem]) -> bool:
    return {(i.app_id, i.recipient_id) for i in before} == {(i.app_id, i.recipient_id) for i in now}


async def checkout(
    ctx: ServiceContext, user_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> CheckoutRead:
    """Freeze the priced cart for an order and reserve its coupon use (idempotent per order).
    Read (the cart, and whether the order was frozen already), price (the catalog asked, and
    purchases about bundles), then one short write that takes the cart only if it did not
    change meanwhile. A line already owned is purchases' to refuse: it checks in the same
    transaction that stores the order, where no race can slip past."""
    async with ctx.db.session(write=False) as session:
        cart, items, recorded = await repo.cart_for_checkout(session, user_id, order_id)
        done = await repo.checkout(session, order_id) if recorded else None
    if done is not None:
        return _frozen(done, user_id)
    try:
        if cart is None or not items:
            raise Conflict("The cart is empty", code="cart-empty")
        # Purchases checks what each receiver owns itself, in the transaction that stores the
        # order's lines: here ownership is asked only where it sets a price (bundles).
        known = await learn(ctx, user_id, items, owned_for_bundles_only=True)
        lines = price_lines(user_id, items, known)
        _refuse_unsellable(lines)
        async with ctx.db.session() as session:
            return await _freeze(session, cart, items, lines, order_id, now)
    except Conflict:
        # The same order frozen meanwhile (a racing retry), or frozen before its cart emptied
        # (paid) or stopped being this user's to freeze: what was frozen is the answer.
        async with ctx.db.session(write=False) as session:
            done = await repo.checkout(session, order_id)
        if done is None:
            raise
        return _frozen(done, user_id)


async def _freeze(
    session: AsyncSession,
    cart: Cart,
    items: list[CartItem],
    lines: list[PricedLine],
    order_id: uuid.UUID,
    now: datetime,
) -> CheckoutRead:
    """The write: the coupon still applying, the cart's one checkout slot taken if the cart is
    as it was priced (one conditional UPDATE), the coupon use reserved, the snapshot recorded.
    Any refusal rolls it all back; the caller then answers a retry of a frozen order with what
    it froze."""
    user_id = cart.user_id
    coupon = await _coupon_of(session, cart)
    outcome = apply_coupon(coupon[0], lines, now, coupon[1]) if coupon else None
    if outcome is not None and outcome.reason is not None:
        raise Conflict(REASONS[outcome.reason], code=f"coupon-{outcome.reason}")
    priced = [(item.app_id, item.recipient_id) for item in items]
    stale = now - CHECKOUT_HOLD
    if not await repo.mark_checkout(
        session, user_id, order_id, now, stale, lines=priced, coupon_code=cart.coupon_code
    ):
        raise await _not_marked(session, cart, items)
    if coupon is not None and outcome is not None:
        await _reserve(session, coupon[0], user_id, order_id, outcome.discount)
    snapshot = _snapshot(user_id, order_id, lines, outcome, now)
    recorded = Checkout(
        order_id=order_id, user_id=user_id, snapshot=snapshot.model_dump(mode="json")
    )
    try:
        await insert_new(session, recorded, track=False)
    except IntegrityError:  # this order was frozen before (the cart's slot had lapsed or was
        # freed since): nothing here stands, and the caller answers with the first snapshot
        raise Conflict("That order was checked out already", code="checkout-in-progress") from None
    return snapshot


async def _not_marked(session: AsyncSession, priced: Cart, items: list[CartItem]) -> Conflict:
    """Why the cart's slot was not taken: the cart changed since it was priced, or another
    checkout (or this order's, racing: on PostgreSQL the mark waited for it) holds it."""
    cart, current = await repo.cart_with_items(session, priced.user_id)
    if cart is None or cart.coupon_code != priced.coupon_code or not _same_lines(items, current):
        return Conflict("The cart changed during checkout; try again", code="cart-changed")
    return Conflict("A checkout of this cart is already in progress", code="checkout-in-progress")


# --- coupons --------------------------------------------------------------------------------


async def _check_coupon_games(
    ctx: ServiceContext, principal: Principal, app_ids: list[int]
) -> None:
    """Admins may make coupons for any games; publishers only for their own, and must name
    them."""
    if not principal.is_admin and not app_ids:
        raise ValidationFailed(
            "A publisher's coupon names the games it is for",
            errors=[{"field": "app_ids", "message": "required for publishers"}],
        )
    for app_id in app_ids:
        try:
            member = await lookups.manages_game(ctx, app_id, principal.user_id)
        except NotFound:
            raise NotFound(f"No game with app_id {app_id}", code="game-not-found") from None
        if not member and not principal.is_admin:
            raise Forbidden(
                f"You can only make coupons for your own games (not app_id {app_id})",
                code="not-your-game",
            )


async def create_coupon(
    ctx: ServiceContext, principal: Principal, body: CouponCreate, now: datetime
) -> Coupon:
    """Check the maker and the games (the catalog asked), then one short write; a code taken
    (in any case) is refused by the database's unique key."""
    if not principal.has_role("publisher", "admin"):
        raise Forbidden("Coupons are made by publishers and admins")
    valid_from = body.valid_from or now
    if body.valid_until is not None and body.valid_until <= valid_from:
        raise ValidationFailed(
            "valid_until must be after valid_from",
            errors=[{"field": "valid_until", "message": "before the coupon starts"}],
        )
    await _check_coupon_games(ctx, principal, body.app_ids)
    coupon = Coupon(
        code=body.code,
        code_key=body.code.upper(),
        percent=body.percent,
        amount=body.amount.amount if body.amount else None,
        valid_from=valid_from,
        valid_until=body.valid_until,
        app_ids=list(body.app_ids),
        min_subtotal=body.min_subtotal.amount if body.min_subtotal else 0,
        max_uses=body.max_uses,
        max_uses_per_user=body.max_uses_per_user,
        created_by=principal.user_id,
    )
    try:
        async with ctx.db.session() as session:
            session.add(coupon)
            await session.flush()
    except IntegrityError:
        raise Conflict("That coupon code is taken", code="coupon-code-taken") from None
    return coupon


async def managed_coupon(
    session: AsyncSession, principal: Principal, coupon_id: uuid.UUID
) -> Coupon:
    """A coupon the caller made (or any, for admins); others' are not found."""
    coupon = await repo.coupon_by_id(session, coupon_id)
    if coupon is None or not (principal.is_admin or coupon.created_by == principal.user_id):
        raise NotFound("No such coupon", code="coupon-not-found")
    return coupon
