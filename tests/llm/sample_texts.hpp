#pragma once

// Realistic section texts (Markdown, as the PDF extractor writes it) for the offline
// provider's tests.
namespace jobserver::testing {

inline constexpr const char* photosynthesis_section = R"(# Photosynthesis

**Photosynthesis** is the process by which green plants, algae and some bacteria convert
light energy into chemical energy. It takes place mainly in the leaves, inside organelles
called chloroplasts. The overall reaction uses carbon dioxide and water to produce glucose
and oxygen.

6CO2 + 6H2O + light energy = C6H12O6 + 6O2

## Chlorophyll and light absorption

Chlorophyll is a green pigment that absorbs red and blue light and reflects green light,
which is why leaves look green. Chlorophyll molecules sit in the thylakoid membranes of the
chloroplast. Other pigments, such as carotenoids, widen the range of wavelengths a plant
can use. For example, carotenoids absorb blue-green light and pass the energy on to
chlorophyll.

## The light-dependent reactions

The light-dependent reactions take place in the thylakoid membranes. Light energy splits
water molecules, a step known as photolysis, which releases oxygen as a by-product. The
energy captured by chlorophyll is stored in two carrier molecules, ATP and NADPH. Note that
the light-dependent reactions cannot run in the dark, because they need a constant supply
of photons.

## The Calvin cycle

The Calvin cycle is a series of reactions in the stroma that fixes carbon dioxide into
sugar. The enzyme RuBisCO attaches carbon dioxide to a five-carbon molecule called RuBP.
The Calvin cycle uses the ATP and NADPH made by the light-dependent reactions, so it
depends on them even though it does not use light directly. Each turn of the Calvin cycle
fixes one molecule of carbon dioxide, so six turns are needed to build one molecule of
glucose.

## Limiting factors

The rate of photosynthesis is limited by light intensity, carbon dioxide concentration and
temperature. A limiting factor is the factor that is in shortest supply and therefore
controls the rate. For example, on a cold but bright morning, temperature is the limiting
factor. Growers must keep all three factors balanced; raising light intensity alone never
helps once carbon dioxide concentration is the limiting factor.
)";

inline constexpr const char* tcp_section = R"(# Transmission Control Protocol

The Transmission Control Protocol (TCP) is a connection-oriented transport protocol that
provides reliable, ordered delivery of a byte stream between two hosts. TCP runs on top of
the Internet Protocol (IP), which only offers best-effort delivery of individual packets.

## Connection establishment

Before any data is sent, TCP sets up a connection with the three-way handshake. The client
sends a SYN segment, the server answers with a SYN-ACK segment, and the client confirms with
an ACK segment. During the handshake both sides choose an initial sequence number. A
connection is identified by the pair of sockets at its two ends.

## Reliable delivery

Every byte carries a sequence number, and the receiver returns an acknowledgement that names
the next byte it expects. A sender that receives no acknowledgement before its retransmission
timeout sends the segment again. Duplicate acknowledgements are an early sign of loss: after
three duplicate acknowledgements the sender performs a fast retransmit without waiting for
the timeout. A checksum in each segment lets the receiver discard corrupted data.

## Flow control and congestion control

Flow control protects a slow receiver: the receive window advertised by the receiver is the
amount of data it can still buffer. Congestion control protects the network itself. The
congestion window limits how much unacknowledged data a sender may have in flight. Slow start
doubles the congestion window every round trip until a threshold is reached. For example, a
sender that starts with a window of one segment may send 2, 4 and then 8 segments. When loss
is detected, the sender must reduce its congestion window, which is why a single lost packet
can slow down a whole transfer.

effective window = min(receive window, congestion window)

## Closing a connection

A connection is closed with FIN segments, one in each direction, so each side can finish
sending independently. The side that closes first waits in the TIME-WAIT state for twice the
maximum segment lifetime, so that delayed segments of the old connection are never mistaken
for new data.
)";

inline constexpr const char* tiny_section = "Osmosis moves water across a membrane.";

}  // namespace jobserver::testing
