"""The rules of carts, coupons and checkouts. Functions take the request's session and flush;
they never commit. Prices are always asked of the catalog at the moment they are needed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.platform.auth import Principal
from lugx.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from lugx.platform.money import Money
from lugx.platform.service import ServiceContext
from lugx.services.catalog.schemas import GameDetail, PriceRead
from lugx.services.shopping import lookups
from lugx.services.shopping import repository as repo
from lugx.services.shopping.models import Cart, CartItem, Checkout, Coupon, CouponUse
from lugx.services.shopping.pricing import (
    REASONS,
    CouponOutcome,
    PricedLine,
    Quote,
    apply_coupon,
    bundle_quote,
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


def usd(amount: int) -> Money:
    return Money(amount=amount, currency="USD")


# --- pricing a cart -------------------------------------------------------------------------


async def _owned_by_owner(
    ctx: ServiceContext,
    user_id: uuid.UUID,
    items: list[CartItem],
    bundles: dict[int, GameDetail],
) -> dict[uuid.UUID, set[int]]:
    """For each future owner (the buyer, each gift's recipient): which of their lines' apps,
    bundles' contents included, they own already."""
    wanted: dict[uuid.UUID, set[int]] = {}
    for item in items:
        contents = bundles[item.app_id].bundle_items if item.app_id in bundles else []
        wanted.setdefault(item.recipient_id or user_id, set()).update([item.app_id, *contents])
    return {owner: await lookups.owned(ctx, owner, app_ids) for owner, app_ids in wanted.items()}


async def _bundles(ctx: ServiceContext, items: list[CartItem]) -> dict[int, GameDetail]:
    found: dict[int, GameDetail] = {}
    for item in items:
        if item.type == "bundle":
            try:
                found[item.app_id] = await lookups.published_game(ctx, item.app_id)
            except NotFound:
                continue  # no longer for sale: the line shows as unavailable
    return found


def _quote(
    price: PriceRead | None,
    bundle: GameDetail | None,
    owned: set[int],
    prices: dict[int, PriceRead],
) -> tuple[Quote | None, bool]:
    """A line's price now and whether its future owner has it all already."""
    if price is None:
        return None, False
    if bundle is None:
        return Quote(price.price.amount, price.final_price.amount, price.discount_percent), False
    missing = [a for a in bundle.bundle_items if a not in owned and a in prices]
    finals = [prices[a].final_price.amount for a in missing]
    return bundle_quote(finals, bundle.bundle_discount_percent, price.discount_percent), not missing


async def price_lines(
    ctx: ServiceContext, user_id: uuid.UUID, items: list[CartItem]
) -> list[PricedLine]:
    """Each line priced by the catalog now. A bundle is priced "complete the set" for whoever
    will own it, by the catalog's rule (pricing.bundle_quote)."""
    bundles = await _bundles(ctx, items)
    owned = await _owned_by_owner(ctx, user_id, items, bundles)
    every_app = {i.app_id for i in items} | {a for b in bundles.values() for a in b.bundle_items}
    prices = await lookups.prices(ctx, every_app)
    lines = []
    for item in items:
        mine = owned[item.recipient_id or user_id]
        quote, has_all = _quote(prices.get(item.app_id), bundles.get(item.app_id), mine, prices)
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


async def _coupon_outcome(
    session: AsyncSession, cart: Cart, lines: list[PricedLine], now: datetime
) -> tuple[Coupon | None, CouponOutcome | None]:
    if cart.coupon_code is None:
        return None, None
    coupon = await repo.coupon_by_code(session, cart.coupon_code)
    if coupon is None:
        return None, None
    uses = await repo.user_uses(session, coupon.id, cart.user_id)
    return coupon, apply_coupon(coupon, lines, now, uses)


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


async def view_cart(
    session: AsyncSession, ctx: ServiceContext, user_id: uuid.UUID, now: datetime
) -> CartRead:
    """The cart as the player sees it now. Lines no longer for sale or already owned are shown
    but not counted."""
    cart = await repo.cart_of(session, user_id)
    if cart is None:
        return CartRead(
            items=[],
            subtotal=usd(0),
            discount=usd(0),
            coupon=None,
            total=usd(0),
            currency="USD",
            checkout_in_progress=False,
        )
    lines = await price_lines(ctx, user_id, await repo.cart_items(session, cart.id))
    coupon, outcome = await _coupon_outcome(session, cart, lines, now)
    subtotal = sum(line.quote.final for line in lines if line.sellable and line.quote)
    off = outcome.discount if outcome else 0
    return CartRead(
        items=[_cart_line(line) for line in lines],
        subtotal=usd(subtotal),
        discount=usd(off),
        coupon=_coupon_state(coupon, outcome) if coupon and outcome else None,
        total=usd(subtotal - off),
        currency="USD",
        checkout_in_progress=cart.checkout_order_id is not None
        and cart.checkout_started_at is not None
        and cart.checkout_started_at >= now - CHECKOUT_HOLD,
    )


# --- changing a cart ------------------------------------------------------------------------


async def _check_recipient(ctx: ServiceContext, principal: Principal, body: CartItemAdd) -> None:
    if body.gift_for is None:
        return
    if body.gift_for == principal.user_id:
        raise ValidationFailed(
            "A gift is for someone else; add the game without gift_for to buy it for yourself",
            errors=[{"field": "gift_for", "message": "that is you"}],
        )
    if not await lookups.user_exists(ctx, body.gift_for):
        raise NotFound("No such user to send a gift to", code="recipient-not-found")


async def vet_addition(ctx: ServiceContext, principal: Principal, body: CartItemAdd) -> GameDetail:
    """What adding a game needs to ask other services (the game, the gift's recipient, what the
    future owner has), asked before any write begins: on SQLite a write holds the service's
    one writer, which must never wait on another service."""
    game = await lookups.published_game(ctx, body.app_id)
    await _check_recipient(ctx, principal, body)
    owner = body.gift_for or principal.user_id
    contents = game.bundle_items if game.type == "bundle" else []
    owned = await lookups.owned(ctx, owner, [game.app_id, *contents])
    if game.app_id in owned or (contents and owned.issuperset(contents)):
        who = "The recipient owns" if body.gift_for else "You own"
        raise Conflict(f"{who} {game.title} already", code="already-owned")
    return game


async def add_item(
    session: AsyncSession, principal: Principal, body: CartItemAdd, game: GameDetail
) -> None:
    """Put a vetted game (`vet_addition`) in the caller's cart."""
    cart = await repo.ensure_cart(session, principal.user_id)
    if await repo.cart_item(session, cart.id, game.app_id) is not None:
        raise Conflict(f"{game.title} is in your cart already", code="already-in-cart")
    if await repo.count_cart_items(session, cart.id) >= MAX_CART_ITEMS:
        raise Conflict(f"A cart holds at most {MAX_CART_ITEMS} items", code="cart-full")
    session.add(
        CartItem(
            cart_id=cart.id,
            app_id=game.app_id,
            recipient_id=body.gift_for,
            title=game.title,
            type=game.type,
            header_image=game.header_image,
        )
    )
    try:
        await session.flush()
    except IntegrityError:  # the same add, racing: the other one won
        raise Conflict(f"{game.title} is in your cart already", code="already-in-cart") from None


async def remove_item(session: AsyncSession, user_id: uuid.UUID, app_id: int) -> None:
    cart = await repo.cart_of(session, user_id)
    item = await repo.cart_item(session, cart.id, app_id) if cart else None
    if item is None:
        raise NotFound(f"app_id {app_id} is not in your cart", code="not-in-cart")
    await session.delete(item)
    await session.flush()


async def apply_code(ctx: ServiceContext, user_id: uuid.UUID, code: str, now: datetime) -> None:
    """Put a coupon on the cart, if it would take something off it now. The cart is priced
    (other services asked) between a read and the short write that keeps the code."""
    async with ctx.db.session(write=False) as session:
        coupon = await repo.coupon_by_code(session, code)
        if coupon is None:
            raise NotFound("No such coupon", code="coupon-not-found")
        cart = await repo.cart_of(session, user_id)
        items = await repo.cart_items(session, cart.id) if cart else []
        uses = await repo.user_uses(session, coupon.id, user_id)
    outcome = apply_coupon(coupon, await price_lines(ctx, user_id, items), now, uses)
    if outcome.reason is not None:
        raise Conflict(REASONS[outcome.reason], code=f"coupon-{outcome.reason}")
    async with ctx.db.session() as session:
        cart = await repo.ensure_cart(session, user_id)
        cart.coupon_code = coupon.code
        await session.flush()


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


async def _earlier(
    session: AsyncSession, user_id: uuid.UUID, order_id: uuid.UUID
) -> CheckoutRead | None:
    """The snapshot already frozen for this order (a retry gets the same one)."""
    done = await repo.checkout(session, order_id)
    if done is None:
        return None
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
    Read, price (the catalog and purchases asked), then one short write that checks the cart
    did not change meanwhile."""
    async with ctx.db.session(write=False) as session:
        earlier = await _earlier(session, user_id, order_id)
        if earlier is not None:
            return earlier
        cart = await repo.cart_of(session, user_id)
        items = await repo.cart_items(session, cart.id) if cart else []
    if not items:
        raise Conflict("The cart is empty", code="cart-empty")
    lines = await price_lines(ctx, user_id, items)
    _refuse_unsellable(lines)
    async with ctx.db.session() as session:
        return await _freeze(session, user_id, order_id, items, lines, now)


async def _freeze(
    session: AsyncSession,
    user_id: uuid.UUID,
    order_id: uuid.UUID,
    priced_items: list[CartItem],
    lines: list[PricedLine],
    now: datetime,
) -> CheckoutRead:
    earlier = await _earlier(session, user_id, order_id)  # the same order, racing
    if earlier is not None:
        return earlier
    cart = await repo.cart_of(session, user_id)
    if cart is None or not _same_lines(priced_items, await repo.cart_items(session, cart.id)):
        raise Conflict("The cart changed during checkout; try again", code="cart-changed")
    coupon, outcome = await _coupon_outcome(session, cart, lines, now)
    if coupon is not None and outcome is not None and outcome.reason is not None:
        raise Conflict(REASONS[outcome.reason], code=f"coupon-{outcome.reason}")
    if not await repo.mark_checkout(session, user_id, order_id, now, now - CHECKOUT_HOLD):
        # On PostgreSQL the same order may have committed meanwhile (the mark waited for it):
        # that is a retry, answered with what it froze.
        earlier = await _earlier(session, user_id, order_id)
        if earlier is not None:
            return earlier
        raise Conflict(
            "A checkout of this cart is already in progress", code="checkout-in-progress"
        )
    if coupon is not None and outcome is not None:
        await _reserve(session, coupon, user_id, order_id, outcome.discount)
    snapshot = _snapshot(user_id, order_id, lines, outcome, now)
    session.add(
        Checkout(order_id=order_id, user_id=user_id, snapshot=snapshot.model_dump(mode="json"))
    )
    await session.flush()
    return snapshot


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
    session: AsyncSession,
    ctx: ServiceContext,
    principal: Principal,
    body: CouponCreate,
    now: datetime,
) -> Coupon:
    if not principal.has_role("publisher", "admin"):
        raise Forbidden("Coupons are made by publishers and admins")
    if await repo.coupon_by_code(session, body.code) is not None:
        raise Conflict("That coupon code is taken", code="coupon-code-taken")
    await _check_coupon_games(ctx, principal, body.app_ids)
    valid_from = body.valid_from or now
    if body.valid_until is not None and body.valid_until <= valid_from:
        raise ValidationFailed(
            "valid_until must be after valid_from",
            errors=[{"field": "valid_until", "message": "before the coupon starts"}],
        )
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
    session.add(coupon)
    try:
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
